#!/usr/bin/env bash
# Every benchmark of issue 7, one after the other, into bench/results-<date>.txt and the screen.
# Not a test: the figures depend on the machine. See bench/README.md and docs/performance.md.
#
#   bench/run_all.sh            # the full run (about 45 minutes on 2 cores)
#   bench/run_all.sh --quick    # a smoke run: small sizes, one round (about 3 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${BENCH_OUT:-bench/results-$(date -u +%Y%m%dT%H%M%SZ).txt}
if [[ ${1:-} == --quick ]]; then
    VERDICTS=(--hosts 2000 --rounds 3)
    WSMAN=(--iterations 30)
    FLEET=(--hosts 10 --rounds 1 --plays floor floor-data ping gather)
    ROLES=(--hosts 10 --rounds 1 --plays floor role rollout)
    SWEEP=(--hosts 10 --rounds 1 --plays floor fleet bare)
    BIG=()
    SWEEP_BIG=()
else
    VERDICTS=()
    WSMAN=()
    FLEET=(--hosts 10 100 --rounds 3 --plays floor floor-data ping gather)
    ROLES=(--hosts 10 100 --rounds 1 --plays floor role rollout)
    BIG=(--hosts 1000 --rounds 1 --plays floor floor-data ping gather)
    SWEEP=(--hosts 10 100 300 --rounds 3 --plays floor fleet bare)
    SWEEP_BIG=(--hosts 1000 --rounds 1 --plays floor fleet bare)
fi
status=0
rc=0
{
    echo "== 1. verdict engine"; "$PY" bench/bench_verdicts.py "${VERDICTS[@]}" || status=1
    echo; echo "== 2. one host over WS-Management"; "$PY" bench/bench_wsman.py "${WSMAN[@]}" || status=1
    echo; echo "== 3. a fleet"; "$PY" bench/bench_fleet.py "${FLEET[@]}" || status=1
    if (( ${#BIG[@]} )); then "$PY" bench/bench_fleet.py "${BIG[@]}" || status=1; fi
    echo; echo "== 4. the roles"; "$PY" bench/bench_fleet.py "${ROLES[@]}" || status=1
    echo; echo "== 6. the fleet strategy"; "$PY" bench/bench_fleet.py "${SWEEP[@]}" || status=1
    if (( ${#SWEEP_BIG[@]} )); then "$PY" bench/bench_fleet.py "${SWEEP_BIG[@]}" || status=1; fi
    exit "$status"  # the group runs in a subshell: its exit status is the pipeline's (pipefail)
} 2>&1 | tee "$OUT" || rc=$?
echo "figures in $OUT (exit status 1 = a target missed or a play failed)"
exit "$rc"
