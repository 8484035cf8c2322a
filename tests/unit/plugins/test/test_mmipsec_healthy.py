"""The winiscsi.ipsec.mmipsec_healthy test plugin: mapping, result, errors and documentation."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError
from health_snapshots import T0, snapshot, unavailable
from plugin_docs import load_sidecar, signature_problems

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._policy import CHECK_NAMES

# Imported as a module: pytest would collect a class named TestModule as a test class.
from ansible_collections.winiscsi.ipsec.plugins.test import mmipsec_healthy as plugin

mmipsec_healthy = plugin.mmipsec_healthy


def test_test_is_registered() -> None:
    assert plugin.TestModule().tests() == {"mmipsec_healthy": mmipsec_healthy}


CASES = [
    pytest.param(snapshot(), None, {}, True, id="lifetime-healthy"),
    pytest.param(snapshot(soft_associations=1), None, {}, False, id="lifetime-cleartext"),
    pytest.param(snapshot(soft_associations=1), snapshot(soft_associations=1, collected_at=T0),
                 {}, True, id="window-no-new-cleartext"),
    pytest.param(snapshot(get_spi_failures=1), None, {}, True, id="warning-passes-by-default"),
    pytest.param(snapshot(get_spi_failures=1), None, {"fail_on": "warning"}, False,
                 id="warning-fails-fail-on-warning"),
    pytest.param(snapshot(get_spi_failures=1), None,
                 {"fail_on": "warning", "thresholds": {"key_management_failures":
                                                       {"warning": None}}},
                 True, id="threshold-disabled"),
    pytest.param(unavailable(), None, {}, False, id="unavailable-fails-closed"),
    pytest.param(unavailable(), None, {"allow_unknown": True}, True, id="unknown-allowed"),
    pytest.param({}, None, {}, False, id="empty-fails-closed"),
]


@pytest.mark.parametrize(("current", "baseline", "kwargs", "expected"), CASES)
def test_result(current: dict, baseline: dict | None, kwargs: dict, expected: bool) -> None:
    assert mmipsec_healthy(current, baseline, **kwargs) is expected


def test_error_is_an_ansible_filter_error_naming_the_test() -> None:
    message = ("winiscsi.ipsec.mmipsec_healthy: thresholds: expected a check name, one of "
               f"{list(CHECK_NAMES)}, got 'cleartext' (str)")
    with pytest.raises(AnsibleFilterError, match=re.escape(message)) as info:
        mmipsec_healthy(snapshot(), thresholds={"cleartext": {"critical": "1"}})
    assert str(info.value) == message
    assert isinstance(info.value.__cause__, InputError)


def test_documentation_matches_the_signature() -> None:
    assert signature_problems(mmipsec_healthy, load_sidecar("test", "mmipsec_healthy")) == []
