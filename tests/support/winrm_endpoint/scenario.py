"""Scenario files: what each simulated Windows host serves, and how it changes by phase.

Test support for the winiscsi.ipsec collection, not part of the collection itself.

A scenario is validated once, into frozen dataclasses; the live, changing part (counter values
that grow with time, the current phase) is kept per host in :class:`HostState`. The format is
documented in README.md beside this file.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import yaml

from . import wsman

Auth = Literal["basic", "ntlm", "kerberos"]
Scheme = Literal["http", "https"]
FaultScope = Literal["class", "all", "pull"]

AUTHS: tuple[Auth, ...] = ("basic", "ntlm", "kerberos")
SCHEMES: tuple[Scheme, ...] = ("http", "https")
FAULT_SCOPES: tuple[FaultScope, ...] = ("class", "all", "pull")
# Faults answered as WS-Man SOAP faults (HTTP 500 with a Windows-shaped body); the second line
# are the Windows shapes of issue 12 (wsman.py builds them, README.md cites their sources).
SOAP_FAULTS = (
    "class_missing", "class_missing_wql", "class_missing_uri", "provider_error", "access_denied",
    "provider_error_dmtf", "wmi_error_only", "timed_out", *wsman.PASSTHROUGH_FAULTS,
)
# How a host's success replies look (wsman.Shapes): Windows Server 2008 R2's habits.
REPLY_SHAPES = ("bare_envelope", "no_xml_lang", "case_insensitive_order", "empty_context",
                "first_page_one", "zulu")
# Faults of the HTTP exchange itself.
TRANSPORT_FAULTS = ("http_500_junk", "malformed_xml", "entity_bomb", "slow", "drop", "oversized")
FAULTS = SOAP_FAULTS + TRANSPORT_FAULTS + ("wrong_password",)
INITIAL_PHASE = "initial"
DEFAULT_INSTANCE_NAME = "ROOT\\ISCSIPRT\\0000_0"
DEFAULT_BOOT_TIME = "2026-11-20T07:12:03.5+00:00"
DEFAULT_OVERSIZED_BYTES = 9 * 1024 * 1024
DEFAULT_SLOW_SECONDS = 35.0

_HOST_KEYS = frozenset({
    "auth", "scheme", "user", "password", "inventory_password", "boot_time", "instances",
    "counters", "growth", "page_size", "fault", "fault_scope", "slow_seconds",
    "oversized_bytes", "groups", "unreachable", "read_timeout_sec", "operation_timeout_sec",
    "allow_unencrypted", "machine", "shapes", "quick_mode",
})
_PHASE_KEYS = frozenset({"growth", "counters", "fault", "boot_time", "instances", "freeze",
                         "quick_mode"})
_INSTANCE_KEYS = frozenset({"name", "active", "counters", "growth", "quick_mode"})
_QUICK_MODE_KEYS = frozenset({"counters", "growth"})


def _load_counters_module() -> ModuleType:
    """Import the collection's counter schema, from the collection or from the source tree.

    The member table lives once, in plugins/plugin_utils/_counters.py. Tests import the
    collection under its ansible_collections name; the command-line entry point for the demo
    may run with only tests/support on sys.path, so fall back to the source tree under that
    name (tests/support/dev_collection.py), as _counters.py imports its siblings by it.
    """
    try:
        from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _counters
    except ImportError:
        from dev_collection import make_importable

        make_importable()
        from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _counters
    return _counters


COUNTERS = _load_counters_module()
MEMBERS: tuple[Any, ...] = COUNTERS.MEMBERS
COUNTER_KEYS: tuple[str, ...] = COUNTERS.COUNTER_KEYS
CUMULATIVE_KEYS: frozenset[str] = frozenset(COUNTERS.CUMULATIVE_KEYS)
UINT64_MAX: int = COUNTERS.UINT64_MAX
WMI_NAME_BY_KEY: Mapping[str, str] = {m.key: m.wmi_name for m in MEMBERS}
_KEY_BY_ANY_NAME: Mapping[str, str] = {
    **{m.key: m.key for m in MEMBERS}, **{m.wmi_name: m.key for m in MEMBERS},
}
# The quick-mode sibling, MSiSCSI_QMIPSECStats (its own 18 keys; key_additions is in both).
QM_MEMBERS: tuple[Any, ...] = COUNTERS.QM_MEMBERS
QM_COUNTER_KEYS: tuple[str, ...] = COUNTERS.QM_COUNTER_KEYS
QM_CUMULATIVE_KEYS: frozenset[str] = frozenset(COUNTERS.QM.cumulative_keys)
QM_WMI_NAME_BY_KEY: Mapping[str, str] = {m.key: m.wmi_name for m in QM_MEMBERS}
_QM_KEY_BY_ANY_NAME: Mapping[str, str] = {
    **{m.key: m.key for m in QM_MEMBERS}, **{m.wmi_name: m.key for m in QM_MEMBERS},
}


class ScenarioError(ValueError):
    """A scenario file or dict is not valid.

    Attributes:
        where: Path of the offending field, e.g. ``hosts.web01.fault``.
        expected: What the field should have been.
        got: The offending value.
    """

    def __init__(self, where: str, expected: str, got: Any) -> None:
        self.where = where
        self.expected = expected
        self.got = got
        super().__init__(f"scenario {where}: expected {expected}, got {got!r} ({type(got).__name__})")


@dataclass(frozen=True)
class InstanceSpec:
    """One MSiSCSI_MMIPSECStats instance as a scenario defines it."""

    name: str
    active: bool
    counters: Mapping[str, int]
    growth: Mapping[str, Fraction]
    # Its MSiSCSI_QMIPSECStats values; None when the host has no quick-mode class.
    qm_counters: Mapping[str, int] | None = None
    qm_growth: Mapping[str, Fraction] = field(default_factory=dict)


@dataclass(frozen=True)
class HostSpec:
    """One simulated Windows host."""

    name: str
    auth: Auth
    scheme: Scheme
    user: str
    password: str
    inventory_password: str
    boot_time: datetime
    instances: tuple[InstanceSpec, ...]
    page_size: int
    fault: str | None
    fault_scope: FaultScope
    slow_seconds: float
    oversized_bytes: int
    groups: tuple[str, ...]
    unreachable: bool
    read_timeout_sec: int | None
    operation_timeout_sec: int | None
    allow_unencrypted: bool
    machine: str
    shapes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PhaseOverride:
    """What one phase changes on one host (absent fields keep the host's own definition)."""

    growth: Mapping[str, Fraction] = field(default_factory=dict)
    counters: Mapping[str, int] = field(default_factory=dict)
    fault: str | None = None
    fault_set: bool = False
    boot_time: datetime | Literal["now"] | None = None
    instances: tuple[InstanceSpec, ...] | None = None
    freeze: bool = False
    qm_growth: Mapping[str, Fraction] = field(default_factory=dict)
    qm_counters: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario."""

    name: str
    hosts: Mapping[str, HostSpec]
    groups: Mapping[str, tuple[str, ...]]
    phases: Mapping[str, Mapping[str, PhaseOverride]]

    def phase_names(self) -> tuple[str, ...]:
        """All phase names a control request may switch to, ``initial`` first."""
        return (INITIAL_PHASE, *self.phases)


# ---------------------------------------------------------------- loading and validation


def load_scenario(source: str | Path | Mapping[str, Any] | Scenario) -> Scenario:
    """Read and validate a scenario.

    Args:
        source: A path to a YAML file, an already parsed mapping, or a Scenario (returned as is).

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: The scenario is not valid; the message names the field.
        OSError: The file cannot be read.
    """
    if isinstance(source, Scenario):
        return source
    if isinstance(source, Mapping):
        data: Any = source
        default_name = "scenario"
    else:
        path = Path(source)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        default_name = path.stem
    root = _mapping(data, "(top level)")
    _only(root, {"name", "defaults", "hosts", "groups", "phases"}, "(top level)")
    name = _string(root.get("name", default_name), "name")
    defaults = _mapping(root.get("defaults") or {}, "defaults")
    _only(defaults, _HOST_KEYS, "defaults")
    raw_hosts = root.get("hosts")
    hosts_map = _named_mapping(raw_hosts, "hosts")
    if not hosts_map:
        raise ScenarioError("hosts", "a non-empty mapping of host name to settings", raw_hosts)
    hosts = {host: _host(host, {**defaults, **settings}) for host, settings in hosts_map.items()}
    _check_ntlm_users(hosts)

    groups: dict[str, list[str]] = {}
    for gname, members in _mapping(root.get("groups") or {}, "groups").items():
        where = f"groups.{gname}"
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ScenarioError(where, "a list of host names", members)
        for member in members:
            if member not in hosts:
                raise ScenarioError(where, f"host names among {sorted(hosts)}", member)
        groups.setdefault(str(gname), []).extend(members)
    for host in hosts.values():
        for gname in host.groups:
            groups.setdefault(gname, [])
            if host.name not in groups[gname]:
                groups[gname].append(host.name)
    if "windows" in groups:
        raise ScenarioError("groups.windows", "no group named 'windows' (every host is in it)", "windows")

    phases: dict[str, dict[str, PhaseOverride]] = {}
    for pname, per_host in _mapping(root.get("phases") or {}, "phases").items():
        pname = str(pname)
        if pname == INITIAL_PHASE:
            raise ScenarioError(f"phases.{pname}", "a phase name other than 'initial' (reserved)", pname)
        phases[pname] = {}
        for host, override in _mapping(per_host or {}, f"phases.{pname}").items():
            where = f"phases.{pname}.{host}"
            if host not in hosts:
                raise ScenarioError(where, f"a host name among {sorted(hosts)}", host)
            phases[pname][host] = _phase(override, where)
    return Scenario(
        name=name,
        hosts=hosts,
        groups={g: tuple(m) for g, m in groups.items()},
        phases=phases,
    )


def _host(name: str, raw: Mapping[str, Any]) -> HostSpec:
    where = f"hosts.{name}"
    _only(raw, _HOST_KEYS, where)
    auth = _choice(raw.get("auth", "ntlm"), AUTHS, f"{where}.auth")
    scheme = _choice(raw.get("scheme", "http"), SCHEMES, f"{where}.scheme")
    user = _string(raw.get("user", "ansible"), f"{where}.user")
    if auth == "kerberos" and "@" not in user:
        raise ScenarioError(f"{where}.user", "a Kerberos principal user@REALM", user)
    password = _string(raw.get("password", "Winiscsi-Test-1"), f"{where}.password")
    fault = raw.get("fault")
    if fault is not None:
        fault = _choice(fault, FAULTS, f"{where}.fault")
    default_inventory_password = password + "-wrong" if fault == "wrong_password" else password
    inventory_password = _string(
        raw.get("inventory_password", default_inventory_password), f"{where}.inventory_password"
    )
    read_timeout = _optional_int(raw.get("read_timeout_sec"), f"{where}.read_timeout_sec", 1)
    base_growth = _growth(raw.get("growth") or {}, f"{where}.growth")
    base_counters = _counters(raw.get("counters") or {}, f"{where}.counters")
    raw_instances = raw.get("instances")
    if raw_instances is None:
        raw_instances = [{"name": DEFAULT_INSTANCE_NAME}]
    quick_mode = raw.get("quick_mode")
    instances = _instances(raw_instances, f"{where}.instances", base_counters, base_growth,
                           None if quick_mode is None else _quick_mode(quick_mode,
                                                                       f"{where}.quick_mode"))
    groups = raw.get("groups") or []
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise ScenarioError(f"{where}.groups", "a list of group names", groups)
    slow_default = float(read_timeout + 5) if read_timeout else DEFAULT_SLOW_SECONDS
    return HostSpec(
        name=name,
        auth=auth,
        scheme=scheme,
        user=user,
        password=password,
        inventory_password=inventory_password,
        boot_time=_datetime(raw.get("boot_time", DEFAULT_BOOT_TIME), f"{where}.boot_time"),
        instances=instances,
        page_size=_int(raw.get("page_size", 0), f"{where}.page_size", 0),
        fault=fault,
        fault_scope=_choice(raw.get("fault_scope", "class"), FAULT_SCOPES, f"{where}.fault_scope"),
        slow_seconds=_number(raw.get("slow_seconds", slow_default), f"{where}.slow_seconds"),
        oversized_bytes=_int(
            raw.get("oversized_bytes", DEFAULT_OVERSIZED_BYTES), f"{where}.oversized_bytes", 1
        ),
        groups=tuple(groups),
        unreachable=_bool(raw.get("unreachable", False), f"{where}.unreachable"),
        read_timeout_sec=read_timeout,
        operation_timeout_sec=_optional_int(
            raw.get("operation_timeout_sec"), f"{where}.operation_timeout_sec", 1
        ),
        allow_unencrypted=_bool(raw.get("allow_unencrypted", False), f"{where}.allow_unencrypted"),
        machine=_string(raw.get("machine", name.upper()), f"{where}.machine"),
        shapes=frozenset(_choice(shape, REPLY_SHAPES, f"{where}.shapes")
                         for shape in _list(raw.get("shapes", []), f"{where}.shapes")),
    )


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ScenarioError(where, "a list", value)
    return value


def _phase(raw: Any, where: str) -> PhaseOverride:
    data = _mapping(raw or {}, where)
    _only(data, _PHASE_KEYS, where)
    fault = data.get("fault")
    if fault is not None:
        fault = _choice(fault, FAULTS, f"{where}.fault")
    if fault == "wrong_password":
        raise ScenarioError(
            f"{where}.fault", "a fault other than wrong_password (the inventory is written once)", fault
        )
    boot: datetime | Literal["now"] | None = None
    if "boot_time" in data:
        boot = "now" if data["boot_time"] == "now" else _datetime(data["boot_time"], f"{where}.boot_time")
    instances = None
    if "instances" in data:
        instances = _instances(data["instances"], f"{where}.instances", {}, {})
    qm_counters, qm_growth = _quick_mode(data.get("quick_mode") or {}, f"{where}.quick_mode")
    return PhaseOverride(
        qm_growth=qm_growth,
        qm_counters=qm_counters,
        growth=_growth(data.get("growth") or {}, f"{where}.growth"),
        counters=_counters(data.get("counters") or {}, f"{where}.counters"),
        fault=fault,
        fault_set="fault" in data,
        boot_time=boot,
        instances=instances,
        freeze=_bool(data.get("freeze", False), f"{where}.freeze"),
    )


def _quick_mode(raw: Any, where: str) -> tuple[dict[str, int], dict[str, Fraction]]:
    """A ``quick_mode`` mapping: ``counters`` and ``growth`` of MSiSCSI_QMIPSECStats keys."""
    data = _mapping(raw or {}, where)
    _only(data, _QUICK_MODE_KEYS, where)
    return (_counters(data.get("counters") or {}, f"{where}.counters", _QM_KEY_BY_ANY_NAME),
            _growth(data.get("growth") or {}, f"{where}.growth", _QM_KEY_BY_ANY_NAME))


def _instances(
    raw: Any, where: str, counters: Mapping[str, int], growth: Mapping[str, Fraction],
    quick_mode: tuple[dict[str, int], dict[str, Fraction]] | None = None,
) -> tuple[InstanceSpec, ...]:
    if not isinstance(raw, list):
        raise ScenarioError(where, "a list of instances", raw)
    result: list[InstanceSpec] = []
    for index, item in enumerate(raw):
        iwhere = f"{where}[{index}]"
        data = _mapping(item, iwhere)
        _only(data, _INSTANCE_KEYS, iwhere)
        name = _string(data.get("name", DEFAULT_INSTANCE_NAME), f"{iwhere}.name")
        own_counters = _counters(data.get("counters") or {}, f"{iwhere}.counters")
        values = {key: 0 for key in COUNTER_KEYS}
        values["active_acquire"] = 1  # Idle IKE keeps one acquire outstanding (counters.md).
        values.update(counters)
        values.update(own_counters)
        # The quick-mode class is per host: the host's quick_mode (or any instance's) gives
        # every instance one, with that instance's own values on top.
        qm_counters: dict[str, int] | None = None
        qm_growth: dict[str, Fraction] = {}
        if quick_mode is not None or "quick_mode" in data:
            own_qm = _quick_mode(data.get("quick_mode") or {}, f"{iwhere}.quick_mode")
            host_qm = quick_mode or ({}, {})
            qm_counters = {key: 0 for key in QM_COUNTER_KEYS}
            qm_counters.update({**host_qm[0], **own_qm[0]})
            qm_growth = {**host_qm[1], **own_qm[1]}
        result.append(InstanceSpec(
            name=name,
            active=_bool(data.get("active", True), f"{iwhere}.active"),
            counters=values,
            growth={**growth, **_growth(data.get("growth") or {}, f"{iwhere}.growth")},
            qm_counters=qm_counters,
            qm_growth=qm_growth,
        ))
    names = [i.name for i in result]
    if len(set(names)) != len(names):
        raise ScenarioError(where, "unique instance names", names)
    if quick_mode is None and any(i.qm_counters is not None for i in result):
        # One instance with quick-mode data means the host has the class: all instances do.
        result = [i if i.qm_counters is not None
                  else replace(i, qm_counters=dict.fromkeys(QM_COUNTER_KEYS, 0)) for i in result]
    return tuple(result)


def _check_ntlm_users(hosts: Mapping[str, HostSpec]) -> None:
    # The NTLM acceptor reads one credential file for the whole process (NTLM_USER_FILE), so
    # one user name cannot have two passwords across NTLM hosts.
    seen: dict[str, str] = {}
    for host in hosts.values():
        if host.auth != "ntlm":
            continue
        key = host.user.lower()
        if key in seen and seen[key] != host.password:
            raise ScenarioError(
                f"hosts.{host.name}.password",
                f"the same password as the other NTLM hosts of user {host.user!r}",
                "(a different password)",
            )
        seen[key] = host.password


def _key(name: Any, where: str, names: Mapping[str, str] = _KEY_BY_ANY_NAME) -> str:
    if name not in names:
        wmi_class = "MSiSCSI_MMIPSECStats" if names is _KEY_BY_ANY_NAME else "MSiSCSI_QMIPSECStats"
        raise ScenarioError(where, f"a counter key or WMI member name of {wmi_class}", name)
    return names[name]


def _counters(raw: Any, where: str, names: Mapping[str, str] = _KEY_BY_ANY_NAME) -> dict[str, int]:
    result: dict[str, int] = {}
    for name, value in _mapping(raw, where).items():
        key = _key(name, f"{where}.{name}", names)
        result[key] = _int(value, f"{where}.{name}", 0, UINT64_MAX)
    return result


def _growth(raw: Any, where: str, names: Mapping[str, str] = _KEY_BY_ANY_NAME) -> dict[str, Fraction]:
    result: dict[str, Fraction] = {}
    for name, value in _mapping(raw, where).items():
        key = _key(name, f"{where}.{name}", names)
        result[key] = Fraction(str(_number(value, f"{where}.{name}")))
    return result


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(where, "a mapping", value)
    return value


def _named_mapping(value: Any, where: str) -> dict[str, Mapping[str, Any]]:
    """Accept hosts as a mapping of name -> settings, or a list of settings with ``name``."""
    if isinstance(value, list):
        result: dict[str, Mapping[str, Any]] = {}
        for index, item in enumerate(value):
            data = dict(_mapping(item, f"{where}[{index}]"))
            result[_string(data.pop("name", None), f"{where}[{index}].name")] = data
        return result
    return {str(k): _mapping(v or {}, f"{where}.{k}") for k, v in _mapping(value, where).items()}


def _only(data: Mapping[str, Any], allowed: frozenset[str] | set[str], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise ScenarioError(f"{where}.{key}", f"one of the keys {sorted(allowed)}", key)


def _choice(value: Any, choices: Sequence[str], where: str) -> Any:
    if value not in choices:
        raise ScenarioError(where, f"one of {list(choices)}", value)
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ScenarioError(where, "a non-empty string", value)
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(where, "true or false", value)
    return value


def _int(value: Any, where: str, low: int, high: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ScenarioError(where, f"an integer {bounds}", value)
    return value


def _optional_int(value: Any, where: str, low: int) -> int | None:
    return None if value is None else _int(value, where, low)


def _number(value: Any, where: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScenarioError(where, "a finite number", value)
    return value


_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})$"
)


def _datetime(value: Any, where: str) -> datetime:
    # Parsed by hand: Python 3.10's fromisoformat refuses 'Z' and one-digit fractions ('.5'),
    # both of which Windows-style boot times use.
    expected = "an ISO 8601 date and time with a UTC offset, e.g. 2026-11-20T07:12:03.5+00:00"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ScenarioError(where, expected, value)
        return value
    match = _ISO.match(value) if isinstance(value, str) else None
    if match is None:
        raise ScenarioError(where, expected, value)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone == "Z":
        tz = timezone.utc
    else:
        sign = 1 if zone[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((fraction or "0").ljust(6, "0")), tzinfo=tz,
        )
    except ValueError:
        raise ScenarioError(where, expected, value) from None


# ---------------------------------------------------------------- live state


@dataclass
class InstanceState:
    """Counter values of one instance as a linear function of time since an anchor."""

    name: str
    active: bool
    anchor_time: float
    anchor: dict[str, int]
    growth: dict[str, Fraction]
    keys: tuple[str, ...] = COUNTER_KEYS  # QM_COUNTER_KEYS for a quick-mode instance

    def values(self, now: float) -> dict[str, int]:
        """The counter values at ``now`` (exact ints, clamped to the uint64 range)."""
        elapsed = Fraction(max(0.0, now - self.anchor_time))
        result = {}
        for key in self.keys:
            value = self.anchor[key] + math.floor(self.growth.get(key, Fraction(0)) * elapsed)
            result[key] = min(max(value, 0), UINT64_MAX)
        return result


class HostState:
    """The live state of one host: its phase, fault, boot time and instances.

    Thread-safe: request handlers read it while the control API switches phases.
    """

    def __init__(self, spec: HostSpec, clock: Callable[[], float]) -> None:
        self.spec = spec
        self._clock = clock
        self._lock = threading.Lock()
        start = clock()
        self.phase = INITIAL_PHASE
        # wrong_password lives in the inventory (it gets another password), not in the answers.
        self.fault = None if spec.fault == "wrong_password" else spec.fault
        self.boot_time = spec.boot_time
        self._instances = [
            InstanceState(i.name, i.active, start, dict(i.counters), dict(i.growth))
            for i in spec.instances
        ]
        self._qm_instances = [
            InstanceState(i.name, i.active, start, dict(i.qm_counters), dict(i.qm_growth),
                          QM_COUNTER_KEYS)
            for i in spec.instances if i.qm_counters is not None
        ]
        self._has_quick_mode = any(i.qm_counters is not None for i in spec.instances)

    def snapshot(self) -> tuple[str | None, datetime, list[tuple[str, bool, dict[str, int]]]]:
        """Fault, boot time and (name, active, counters) of every instance, all at one moment."""
        with self._lock:
            now = self._clock()
            instances = [(i.name, i.active, i.values(now)) for i in self._instances]
            return self.fault, self.boot_time, instances

    def quick_mode(self) -> list[tuple[str, bool, dict[str, int]]] | None:
        """(name, active, counters) of every MSiSCSI_QMIPSECStats instance; None: no class."""
        with self._lock:
            if not self._has_quick_mode:
                return None
            now = self._clock()
            return [(i.name, i.active, i.values(now)) for i in self._qm_instances]

    def current_fault(self) -> str | None:
        """The fault this host answers with now (None when healthy)."""
        with self._lock:
            return self.fault

    def apply(self, phase: str, override: PhaseOverride | None) -> None:
        """Switch to ``phase``.

        Fault, growth and instances are absolute: they come from the host's own definition
        with the phase's override on top (a phase without an override for this host restores
        the definition). Counter values are continuous: they carry on from where they are,
        unless the phase sets them or reboots the host (a boot_time change), which resets the
        cumulative counters to 0. The boot time is sticky: a later phase cannot undo a reboot.
        """
        override = override or PhaseOverride()
        with self._lock:
            now = self._clock()
            current = {i.name: i for i in self._instances}
            rebooted = False
            if override.boot_time is not None:
                new_boot = (
                    datetime.fromtimestamp(now, timezone.utc)
                    if override.boot_time == "now" else override.boot_time
                )
                rebooted = new_boot != self.boot_time
                self.boot_time = new_boot
            specs = override.instances if override.instances is not None else self.spec.instances
            base_by_name = {i.name: i for i in self.spec.instances}
            new_states = []
            for spec in specs:
                base = base_by_name.get(spec.name)
                if override.instances is not None and base is not None:
                    # A phase's instance keeps the growth of the host's instance of that name
                    # for the keys it does not name.
                    spec = replace(spec, growth={**base.growth, **spec.growth})
                growth = {**spec.growth, **override.growth}
                if override.freeze:
                    growth = {}
                old = current.get(spec.name)
                if old is not None and not rebooted:
                    anchor = old.values(now)
                elif rebooted:
                    anchor = {
                        k: (0 if k in CUMULATIVE_KEYS else v) for k, v in spec.counters.items()
                    }
                else:
                    anchor = dict(spec.counters)
                anchor.update(override.counters)
                new_states.append(InstanceState(spec.name, spec.active, now, anchor, growth))
            self._instances = new_states
            self._qm_instances = self._next_quick_mode(specs, override, now, rebooted)
            self.fault = override.fault if override.fault_set else self.spec.fault
            if self.fault == "wrong_password":
                self.fault = None
            self.phase = phase

    def _next_quick_mode(self, specs: Sequence[InstanceSpec], override: PhaseOverride, now: float,
                         rebooted: bool) -> list[InstanceState]:
        """The quick-mode instances after a phase switch: the same rules as the main-mode ones."""
        current = {i.name: i for i in self._qm_instances}
        base_by_name = {i.name: i for i in self.spec.instances}
        states = []
        for spec in specs:
            if spec.qm_counters is None and not self._has_quick_mode:
                continue
            base = base_by_name.get(spec.name)
            own_growth = spec.qm_growth or (base.qm_growth if base is not None else {})
            growth = {} if override.freeze else {**own_growth, **override.qm_growth}
            old = current.get(spec.name)
            initial = dict(spec.qm_counters or dict.fromkeys(QM_COUNTER_KEYS, 0))
            if old is not None and not rebooted:
                anchor = old.values(now)
            elif rebooted:
                anchor = {k: (0 if k in QM_CUMULATIVE_KEYS else v) for k, v in initial.items()}
            else:
                anchor = initial
            anchor.update(override.qm_counters)
            states.append(InstanceState(spec.name, spec.active, now, anchor, growth,
                                        QM_COUNTER_KEYS))
        return states
