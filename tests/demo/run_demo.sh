#!/usr/bin/env bash
# The canary rollout demo: a simulated fleet of eight Windows iSCSI hosts on a local WinRM
# endpoint, a health check of the fleet, then a canary rollout whose change breaks web03: the
# post-check gate fails, web03 is rolled back, and the rollout stops before the last batch.
#
# Needs a virtualenv with the dev requirements at $VENV (default .venv) and the collection
# installed under $ANSIBLE_COLLECTIONS_PATH (`make demo` does both, then runs this script).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
VENV="$(cd "$VENV" && pwd)"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$ROOT/build/collections}"
export ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-1}"
export ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
PYTHON="$VENV/bin/python"
SCENARIO="$ROOT/tests/support/scenarios/fleet.yml"
WORK="${DEMO_DIR:-$ROOT/build/demo}"
STATE="$WORK/endpoint"
REPORTS="$WORK/reports"
LOG="$WORK/ansible"

banner() { printf '\n==== %s ====\n\n' "$*"; }

if [[ ! -x "$VENV/bin/ansible-playbook" ]]; then
  echo "run_demo.sh: no ansible-playbook in $VENV/bin; run 'make demo' (or set VENV)" >&2
  exit 2
fi
if [[ ! -d "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/winiscsi/ipsec" ]]; then
  echo "run_demo.sh: winiscsi.ipsec is not installed under $ANSIBLE_COLLECTIONS_PATH" >&2
  exit 2
fi

rm -rf "$WORK"
mkdir -p "$STATE" "$REPORTS" "$LOG"
start=$SECONDS

banner "Starting the local WinRM endpoint (scenario: fleet, 8 simulated hosts)"
PYTHONPATH="$ROOT/tests/support" "$PYTHON" -m winrm_endpoint --scenario "$SCENARIO" \
  --state-dir "$STATE" >"$WORK/endpoint.out" 2>"$WORK/endpoint.err" &
ENDPOINT_PID=$!
stop_endpoint() {
  if kill -0 "$ENDPOINT_PID" 2>/dev/null; then
    kill -TERM "$ENDPOINT_PID" 2>/dev/null || true
    wait "$ENDPOINT_PID" 2>/dev/null || true
    echo "Endpoint stopped."
  fi
}
trap stop_endpoint EXIT
for _ in $(seq 1 100); do
  grep -q '^ready ' "$WORK/endpoint.out" 2>/dev/null && break
  kill -0 "$ENDPOINT_PID" 2>/dev/null || { cat "$WORK/endpoint.err" >&2; exit 1; }
  sleep 0.1
done
INVENTORY="$(sed -n 's/^ready //p' "$WORK/endpoint.out")"
[[ -n "$INVENTORY" ]] || { echo "run_demo.sh: the endpoint did not start" >&2; exit 1; }
echo "Inventory: $INVENTORY"

COMMON=(-i "$INVENTORY" -e mmipsec_via=wsman -e "demo_state_dir=$STATE"
        -e "demo_support_dir=$ROOT/tests/support")

banner "1/2 Health check of the fleet before the change"
set +e
"$VENV/bin/ansible-playbook" "${COMMON[@]}" winiscsi.ipsec.health_check \
  -e target=iscsi_hosts -e "report_dir=$REPORTS" >"$LOG/health_check.log" 2>&1
rc=$?
set -e
"$PYTHON" "$ROOT/tests/demo/show_report.py" "$REPORTS/health-check-pre.json"
echo "(exit code $rc: file01 falls back to cleartext, app02 has no MSiSCSI_MMIPSECStats class,"
echo " web04 is unreachable; full log: $LOG/health_check.log)"

banner "2/2 Canary rollout: web01, then web03, then the rest (serial: [1, 10%, 100%])"
# Count only the rollout's requests below: the health check above read every host.
before=$(wc -l <"$STATE/requests.jsonl")
# The canaries are named first in the host pattern; the play keeps that order.
set +e
"$VENV/bin/ansible-playbook" "${COMMON[@]}" winiscsi.ipsec.rollout_canary \
  -e target=web01:web03:iscsi_hosts \
  -e "rollout_change_tasks=$ROOT/tests/demo/change.yml" \
  -e "rollout_rollback_tasks=$ROOT/tests/demo/rollback.yml" \
  -e rollout_settle_seconds=2 -e rollout_sample_seconds=2 \
  -e "rollout_report_dir=$REPORTS" >"$LOG/rollout.log" 2>&1
rc=$?
set -e
# The highlights of the log: batches, each gate's verdict, the change, the rollback, failures.
grep -E "^PLAY \[|msg: '?(pre|post)-check|^TASK \[winiscsi\.ipsec\.rollout : (Run the (change|rollback))|^fatal:|msg: '?rolled back|^NO MORE HOSTS" \
  "$LOG/rollout.log" | sed -E 's/^ +msg: /    /; s/^(.{0,150}).*/\1/'

banner "Rollout summary"
PYTHONPATH="$ROOT/tests/support" "$PYTHON" -m winrm_endpoint.control --state-dir "$STATE" \
  health >"$STATE/health.json"
"$PYTHON" "$ROOT/tests/demo/show_report.py" "$REPORTS/rollout.json" "$STATE" "$before"
echo
echo "ansible-playbook exit code: $rc (2: a host failed its gate, so the rollout stopped)"
echo "Full log: $LOG/rollout.log"
echo "HTML report: $REPORTS/rollout.html"
echo "Demo finished in $((SECONDS - start)) s."
if [[ $rc -ne 2 ]]; then
  echo "run_demo.sh: expected the gate to stop the rollout (exit code 2), got $rc" >&2
  exit 1
fi
