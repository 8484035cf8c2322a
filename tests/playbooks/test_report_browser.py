"""The HTML fleet report in a real browser: Debian's chromium, headless, at 1,280 pixels.

One browser start for the module: the page of 1,000 hosts (every status, hosts without a
verdict, hosts not reached, a hostile host name and message) as the mmipsec_report filter of
the installed collection renders it (tests/playbooks/test_roles.py holds the role's
ansible.builtin.template output to the same bytes). Without chromium, chromium-driver or
selenium these tests fail when CI=true and skip loudly elsewhere (tests/support/browser.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = ROOT / "tests" / "support"
WIDTH = 1280
HOSTS = 1000
PENDING = ["later01", "later02"]
TITLE = "fleet of 1,000"
# Markup that would load from the network and retitle the page if it were not escaped.
HOSTILE_HOST = '<img src="http://127.0.0.1:9/host.png" onerror="document.title=\'owned\'">'
HOSTILE_MESSAGE = ("</td></tr></table><script>document.title='owned'</script>"
                   "<img src=http://127.0.0.1:9/message.png>")

# A long name without a space (a real FQDN can have 253 characters) must wrap, not widen.
LONG_HOST = "iscsi-initiator-" + "-".join(["rack42"] * 30) + ".storage.example.com"

if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from browser import (  # noqa: E402
    console_errors,
    headless_chromium,
    requested_urls,
    require_chromium,
)
from dev_collection import make_importable  # noqa: E402

CONFIGURED = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
make_importable(Path(CONFIGURED) if CONFIGURED else None)

from health_snapshots import T0, T1, snapshot  # noqa: E402  (needs the collection importable)

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._fleet import (  # noqa: E402
    report,
    summary,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import (  # noqa: E402
    fail_verdict,
    verdict,
)


def _fleet() -> dict[str, Any]:
    """1,000 hosts: mostly ok, every 7th a warning, every 31st critical, every 53rd without a
    verdict, every 97th without data; the hostile host and the long name."""
    ok = verdict(snapshot(collected_at=T1), snapshot(collected_at=T0))
    warning = verdict(snapshot(collected_at=T1, get_spi_failures=2), snapshot(collected_at=T0))
    critical = verdict(snapshot(collected_at=T1, soft_associations=3, authentication_failures=14,
                                oakley_main_mode=1), snapshot(collected_at=T0))
    verdicts: dict[str, Any] = {}
    for number in range(2, HOSTS):
        one = (None if number % 53 == 0 else verdict({}) if number % 97 == 0
               else critical if number % 31 == 0 else warning if number % 7 == 0 else ok)
        verdicts[f"web{number:04d}.example.com"] = one
    verdicts[HOSTILE_HOST] = fail_verdict(critical, "ChangeFailed", HOSTILE_MESSAGE)
    verdicts[LONG_HOST] = critical
    return summary(verdicts)


@dataclass(frozen=True)
class Page:
    driver: Any
    uri: str
    hosts: list[str]
    statuses: dict[str, str]
    requests: list[str]
    errors: list[str]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    require_chromium()
    fleet = _fleet()
    assert all(fleet["counts"].values()), fleet["counts"]  # every status is there
    path = tmp_path_factory.mktemp("report") / "fleet.html"
    path.write_text(report(fleet, "html", title=TITLE, generated_at="generated now",
                           pending=PENDING), encoding="utf-8")
    statuses = {row["host"]: row["status"] for row in fleet["hosts"]}
    statuses.update(dict.fromkeys(PENDING, "pending"))
    with headless_chromium(WIDTH) as driver:
        driver.get(path.as_uri())
        yield Page(driver, path.as_uri(), [row["host"] for row in fleet["hosts"]] + PENDING,
                   statuses, requested_urls(driver), console_errors(driver))


def shown_hosts(driver: Any) -> list[str]:
    """The data-host of every host row the browser lays out, top to bottom."""
    return list(driver.execute_script(
        "return Array.from(document.querySelectorAll('#hosts > tbody > tr'))"
        ".filter(r => r.getClientRects().length > 0).map(r => r.dataset.host);"))


def show_checks(row: Any, shown: bool) -> None:
    """Open or close a host row's details with a click on its summary, as a person would."""
    details = row.find_element("css selector", "details")
    if (details.get_attribute("open") is not None) != shown:
        details.find_element("css selector", "summary").click()
    assert (details.get_attribute("open") is not None) == shown


def horizontal_overflow(driver: Any) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scroll bar)."""
    return int(driver.execute_script(
        "const e = document.documentElement; return e.scrollWidth - e.clientWidth;"))


def test_page_loads_nothing_and_runs_without_errors(page: Page) -> None:
    assert page.requests == [page.uri]
    assert page.errors == []
    assert page.driver.title == TITLE


def test_every_host_shown_without_horizontal_scroll(page: Page) -> None:
    driver = page.driver
    assert driver.execute_script("return window.innerWidth;") == WIDTH
    assert shown_hosts(driver) == page.hosts
    assert len(page.hosts) == HOSTS + len(PENDING)
    assert driver.find_element("id", "shown").text == "1,002 of 1,002 hosts shown"
    assert horizontal_overflow(driver) == 0
    # A host's checks open on demand, within the width too: the hostile host (the first) and
    # the long name.
    rows = driver.find_elements("css selector", "#hosts > tbody > tr")[:2]
    assert [row.get_attribute("data-host") for row in rows] == [HOSTILE_HOST, LONG_HOST]
    for row in rows:
        show_checks(row, True)
    checks = rows[1].find_elements("css selector", "table.checks tr")
    assert [row.text.split(" ")[:3] for row in checks[1:4]] == [
        ["cleartext_fallback", "critical", "3"], ["authentication_failure_ratio", "critical",
                                                  "93.3%"],
        ["negotiation_failure_ratio", "ok", "0.0%"]]
    assert horizontal_overflow(driver) == 0
    for row in rows:
        show_checks(row, False)


def test_hostile_host_name_and_message_stay_text(page: Page) -> None:
    driver = page.driver
    row = driver.find_element("css selector", "#hosts > tbody > tr")
    assert row.get_attribute("data-host") == HOSTILE_HOST
    assert row.find_element("css selector", "th").text == HOSTILE_HOST
    show_checks(row, True)
    assert HOSTILE_MESSAGE in row.find_element("css selector", "table.checks").text
    show_checks(row, False)
    assert driver.find_elements("css selector", "img") == []
    assert driver.title == TITLE
    assert requested_urls(driver) == [] and console_errors(driver) == []


def test_filter_by_status_and_host_name(page: Page) -> None:
    driver = page.driver
    ok_box = driver.find_element("css selector", "#controls input[value=ok]")
    pending_box = driver.find_element("css selector", "#controls input[value=pending]")
    search = driver.find_element("id", "search")
    ok_box.click()
    pending_box.click()
    not_ok = [h for h in page.hosts if page.statuses[h] not in ("ok", "pending")]
    assert shown_hosts(driver) == not_ok
    assert driver.find_element("id", "shown").text == f"{len(not_ok)} of 1,002 hosts shown"
    search.send_keys("WEB09")
    assert shown_hosts(driver) == [h for h in not_ok if h.startswith("web09")]
    search.clear()
    search.send_keys(" ")  # clear() fires no input event; the filter trims spaces
    ok_box.click()
    pending_box.click()
    assert shown_hosts(driver) == page.hosts


def test_sort_by_host_then_back_by_status(page: Page) -> None:
    driver = page.driver
    by_host = driver.find_element("css selector", "#hosts th[data-sort=host] button")
    by_status = driver.find_element("css selector", "#hosts th[data-sort=status] button")
    by_host.click()
    assert shown_hosts(driver) == sorted(page.hosts, key=str.lower)
    by_host.click()
    assert shown_hosts(driver) == sorted(page.hosts, key=str.lower, reverse=True)
    by_status.click()  # ascending: the summary's order, worst first
    assert shown_hosts(driver) == page.hosts


def test_without_javascript_every_host_is_shown(page: Page) -> None:
    driver = page.driver
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        driver.refresh()
        assert shown_hosts(driver) == page.hosts
        assert not driver.find_element("id", "controls").is_displayed()
        assert horizontal_overflow(driver) == 0
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


@pytest.mark.parametrize(("ci", "outcome"), [
    pytest.param("true", pytest.fail.Exception, id="ci-fails"),
    pytest.param("", pytest.skip.Exception, id="elsewhere-skips"),
])
def test_missing_browser_fails_in_ci_and_skips_loudly_elsewhere(
        monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]) -> None:
    import browser

    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    with pytest.raises(outcome) as info:
        require_chromium()
    assert str(info.value).startswith(
        "BROWSER TESTS NOT RUN: missing chromium (Debian package chromium); chromedriver "
        "(Debian package chromium-driver)")
