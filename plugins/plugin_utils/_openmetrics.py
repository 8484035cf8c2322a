# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet as OpenMetrics (or Prometheus text) exposition: the mmipsec_openmetrics filter.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

The format is the OpenMetrics text format (https://prometheus.io/docs/specs/om/open_metrics_spec/):
a ``# TYPE``, ``# HELP`` and optional ``# UNIT`` line per metric family, the samples of a family
together, a counter's sample named ``<family>_total``, label values escaped (backslash, double
quote, newline) and ``# EOF`` as the last line. The Prometheus text format 0.0.4 (what
node_exporter's textfile collector reads) differs only in that a counter's ``# TYPE`` names the
sample itself (``<family>_total``) and there is no ``# UNIT`` or ``# EOF``.

Every value is written as an exact integer: counters are uint64, and the text of
18446744073709551615 is that number (a float would round it to 2**64).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    MEMBERS,
    MM,
    QM,
    validate_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    InputError,
    check_bounds,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._fleet import report_rows
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._nagios import EXIT_CODES, SEVERITY

PREFIX = "winiscsi_ipsec_"
# The quick-mode counters' families: winiscsi_ipsec_qm_<key> (key_additions is in both classes).
QM_PREFIX = "qm_"
FORMATS: tuple[str, ...] = ("openmetrics", "prometheus")
# The media types of the two formats, for a web server or a push: documentation only.
CONTENT_TYPES: Mapping[str, str] = {
    "openmetrics": "application/openmetrics-text; version=1.0.0; charset=utf-8",
    "prometheus": "text/plain; version=0.0.4; charset=utf-8",
}
# Lone surrogates cannot be written as UTF-8: each is written as its Python escape, as text.
_SURROGATE = re.compile(r"[\ud800-\udfff]")

# (family suffix, type, help) of the per-host families, in the order they are written.
HEALTH_STATUS = "health_status"
HOST_FAMILIES: tuple[tuple[str, str, str], ...] = (
    (HEALTH_STATUS, "gauge",
     "Nagios exit code of the host's verdict: 0 ok, 1 warning, 2 critical, 3 unknown (no "
     "verdict)."),
    ("gate_passed", "gauge", "1 when the host passed its health gate, else 0."),
    ("check_status", "gauge",
     "Nagios exit code of one check of the host's verdict: 0 ok, 1 warning, 2 critical, "
     "3 unknown."),
    ("snapshot_available", "gauge",
     "1 when the host's MSiSCSI_MMIPSECStats snapshot has data, else 0 (no counters then)."),
    ("instance_active", "gauge", "1 when the MSiSCSI_MMIPSECStats instance is active, else 0."),
)


def _escape_label(value: str) -> str:
    """A label value inside double quotes: backslash, double quote and newline escaped."""
    value = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(value: str, fmt: str) -> str:
    """HELP text: OpenMetrics escapes as in label values, Prometheus text only \\ and newline."""
    if fmt == "openmetrics":
        return _escape_label(value)
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    return "{" + ",".join(f'{name}="{_escape_label(value)}"' for name, value in pairs) + "}"


class _Writer:
    """Collects the lines of one exposition, a family at a time."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.lines: list[str] = []

    def family(self, suffix: str, kind: str, help_text: str,
               samples: list[tuple[tuple[tuple[str, str], ...], int]]) -> None:
        if not samples:
            return  # a family without samples says nothing: it is left out
        name = PREFIX + suffix
        sample_name = f"{name}_total" if kind == "counter" else name
        typed = name if self.fmt == "openmetrics" else sample_name
        self.lines.append(f"# HELP {typed} {_escape_help(help_text, self.fmt)}")
        self.lines.append(f"# TYPE {typed} {kind}")
        for labels, value in samples:
            self.lines.append(f"{sample_name}{_labels(labels)} {int(value)}")

    def text(self) -> str:
        if self.fmt == "openmetrics":
            self.lines.append("# EOF")
        return "\n".join(self.lines) + "\n"


def _check_statuses(row: Mapping[str, Any]) -> dict[str, str]:
    """Check name -> status of a row; a name given twice keeps its worst status."""
    statuses: dict[str, str] = {}
    for check in row["checks"]:
        name, status = str(check["name"]), str(check["status"])
        if name not in statuses or SEVERITY[status] > SEVERITY[statuses[name]]:
            statuses[name] = status
    return statuses


def _check_snapshots(
        snapshots: Any) -> tuple[dict[str, Mapping[str, Any]], dict[str, Mapping[str, Any]]]:
    """Host name -> validated main-mode snapshot, and -> quick-mode one; nulls are left out.

    A host's value is ``ansible_facts.mmipsec``, or a mapping of both classes (``mmipsec`` and
    ``qmipsec``, such as ``ansible_facts``).
    """
    if snapshots is None:
        return {}, {}
    if not isinstance(snapshots, Mapping):
        raise InputError("snapshots", "a mapping of host name to ansible_facts.mmipsec (or null)",
                         snapshots)
    quick: dict[str, Mapping[str, Any]] = {}
    result: dict[str, Mapping[str, Any]] = {}
    for host, one in snapshots.items():
        if not isinstance(host, str):
            raise InputError("snapshots", "host names (strings) as keys", host)
        if host in result:
            raise InputError(f"snapshots[{host!r}]", "each host once", host)
        if isinstance(one, Mapping) and MM.fact in one:
            qm = one.get(QM.fact)
            if qm is not None:
                quick[host] = validate_snapshot(qm, host=host, schema=QM,
                                                argument=f"snapshots[{host!r}].{QM.fact}")
            one = one[MM.fact]
        if one is None:
            continue
        validate_snapshot(one, host=host, argument=f"snapshots[{host!r}]")
        result[host] = one
    return result, quick


def openmetrics(summary: Any, snapshots: Any = None, format: Any = "openmetrics") -> str:  # noqa: A002
    """The mmipsec_openmetrics filter: a fleet summary (and snapshots) as metrics text.

    Families, all with labels ``host`` (and ``check`` or ``instance`` where named):

    - ``winiscsi_ipsec_health_status{host}``: the Nagios exit code of each summary row
      (3, unknown, for a host without a verdict).
    - ``winiscsi_ipsec_gate_passed{host}``: 1 or 0.
    - ``winiscsi_ipsec_check_status{host,check}``: the exit code of each check.
    - ``winiscsi_ipsec_snapshot_available{host}``: 1 or 0, for each host given a snapshot.
    - ``winiscsi_ipsec_instance_active{host,instance}``: 1 or 0.
    - ``winiscsi_ipsec_<key>{host,instance}`` for the 21 counter keys, from the snapshots
      that are available: type counter (sample ``winiscsi_ipsec_<key>_total``) or gauge.
    - ``winiscsi_ipsec_qm_<key>{host,instance}`` for the 18 quick-mode keys, likewise, when a
      host's value holds both classes and its quick-mode snapshot is available.

    Only hosts with a summary row are written, and only families that have samples; families
    in the order above, hosts by name, checks and instances in their given order (a check named
    twice in one row is written once, with its worst status).

    Args:
        summary: An mmipsec_summary result.
        snapshots: Host name -> ``ansible_facts.mmipsec`` or a mapping of both classes
            (``mmipsec``, ``qmipsec``), null for none; or None.
        format: ``openmetrics`` or ``prometheus`` (text format 0.0.4).

    Returns:
        The exposition text, ending in a newline (after ``# EOF`` for OpenMetrics).

    Raises:
        InputError: A malformed summary (see :func:`report_rows`) or snapshot (see
            :func:`validate_snapshot`), a format not known, or anything
            :func:`check_bounds` refuses.
    """
    check_bounds(summary, "input")
    if isinstance(snapshots, Mapping):
        # Only the two classes of a host's value are read (it may be all of ansible_facts).
        snapshots = {host: ({key: one[key] for key in (MM.fact, QM.fact) if key in one}
                            if isinstance(one, Mapping) and MM.fact in one else one)
                     for host, one in snapshots.items()}
    check_bounds(snapshots, "snapshots")
    if not isinstance(format, str) or format not in FORMATS:
        raise InputError("format", f"one of {list(FORMATS)}", format)
    rows = sorted(report_rows(summary), key=lambda row: row["host"])
    by_host, quick_by_host = _check_snapshots(snapshots)
    writer = _Writer(format)
    hosts = [row["host"] for row in rows]
    host_samples: dict[str, list[tuple[tuple[tuple[str, str], ...], int]]] = {
        HEALTH_STATUS: [((("host", row["host"]),), EXIT_CODES[row["status"]]) for row in rows],
        "gate_passed": [((("host", row["host"]),), int(row["passed"])) for row in rows],
        "check_status": [((("host", row["host"]), ("check", name)), EXIT_CODES[status])
                         for row in rows for name, status in _check_statuses(row).items()],
        "snapshot_available": [((("host", host),), int(bool(by_host[host]["available"])))
                               for host in hosts if host in by_host],
        "instance_active": [((("host", host), ("instance", str(one["instance_name"]))),
                             int(bool(one["active"])))
                            for host in hosts if host in by_host
                            for one in by_host[host]["instances"]],
    }
    for suffix, kind, help_text in HOST_FAMILIES:
        writer.family(suffix, kind, help_text, host_samples[suffix])
    for member in MEMBERS:
        writer.family(member.key, member.kind, member.meaning, [
            ((("host", host), ("instance", str(one["instance_name"]))),
             int(one["counters"][member.key]))
            for host in hosts if host in by_host for one in by_host[host]["instances"]])
    for member in QM.members:
        writer.family(QM_PREFIX + member.key, member.kind, member.meaning, [
            ((("host", host), ("instance", str(one["instance_name"]))),
             int(one["counters"][member.key]))
            for host in hosts if host in quick_by_host
            for one in quick_by_host[host]["instances"]])
    return writer.text()
