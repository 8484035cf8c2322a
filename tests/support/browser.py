"""Debian's chromium, headless, driven by selenium through chromium-driver, for page tests.

Test support for the winiscsi.ipsec collection, not part of the collection itself.

```python
from browser import headless_chromium, requested_urls

with headless_chromium(width=1280) as driver:
    driver.get(page.as_uri())
    assert requested_urls(driver) == [page.as_uri()]
```

Nothing is downloaded: the browser and its driver are the Debian packages chromium and
chromium-driver (bindep.txt, test profile), and Selenium Manager runs offline. The browser
logs every network request it starts (Chrome's performance log), so a test can assert that a
page loads nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Binary -> the Debian package that ships it.
REQUIRED_BINARIES = {"chromium": "chromium", "chromedriver": "chromium-driver"}
HEIGHT = 900


def missing() -> list[str]:
    """``"what (package)"`` for every binary or Python module the browser tests lack."""
    import importlib.util

    gone = [f"{name} (Debian package {package})" for name, package in REQUIRED_BINARIES.items()
            if shutil.which(name) is None]
    if importlib.util.find_spec("selenium") is None:
        gone.append("Python module selenium (tests/requirements-dev.txt)")
    return gone


def require_chromium() -> None:
    """In a pytest fixture: fail (CI=true) or skip loudly when the browser cannot be driven."""
    import pytest

    gone = missing()
    if gone:
        message = ("BROWSER TESTS NOT RUN: missing " + "; ".join(gone)
                   + " (the [test] profile of bindep.txt, tests/requirements-dev.txt)")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def headless_chromium(width: int) -> Iterator[Any]:
    """A headless chromium whose viewport is ``width`` CSS pixels wide (scale 1).

    Yields:
        The selenium WebDriver; the browser quits afterwards.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-dev-shm-usage", "--disable-extensions",
                     "--disable-background-networking", f"--window-size={width},{HEIGHT}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    # Selenium Manager would look for (and download) drivers: offline, the Debian ones given.
    before = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"
    try:
        driver = webdriver.Chrome(
            options=options, service=Service(executable_path=str(shutil.which("chromedriver"))))
    finally:
        if before is None:
            del os.environ["SE_OFFLINE"]
        else:
            os.environ["SE_OFFLINE"] = before
    try:
        driver.set_page_load_timeout(60)
        # The window's size includes no scroll bar; the page's layout viewport is exactly this.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
        yield driver
    finally:
        driver.quit()


def requested_urls(driver: Any) -> list[str]:
    """The URLs of the network requests the browser started since the last call, in order."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(str(message["params"]["request"]["url"]))
    return urls


def console_errors(driver: Any) -> list[str]:
    """The console's errors since the last call: script errors, refused loads, CSP violations."""
    return [str(entry["message"]) for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE"]
