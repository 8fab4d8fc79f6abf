#!/usr/bin/env bash
# Run the stop tests again and again while another CPU-heavy job runs, and count.
#   scripts/test-shutdown.sh [RUNS] [pytest args...]
# Defaults: 20 runs of tests/e2e/test_shutdown.py, odd runs SIGTERM to the script,
# even runs SIGINT to its process group (Ctrl-C); SHUTDOWN_SIGNALS=term,int gives
# every run both. SHUTDOWN_LOAD=0 runs without the CPU hog.
# Each run's output is kept in results/shutdown/run-N.log; a stop that took over
# 10 s has the py-spy stacks of every process still alive in it.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-20}"
shift || true
TARGET=("$@")
[ ${#TARGET[@]} -gt 0 ] || TARGET=(tests/e2e/test_shutdown.py)
OUT=results/shutdown
rm -rf "$OUT" && mkdir -p "$OUT"

hog=""
if [ "${SHUTDOWN_LOAD:-1}" != "0" ]; then
  .venv/bin/python -c 'while True: pass' &
  hog=$!
  trap 'kill $hog 2>/dev/null' EXIT
  echo "CPU load: pid $hog busy-loops while the tests run"
fi

passed=0
for run in $(seq "$RUNS"); do
  started=$SECONDS
  if [ -n "${SHUTDOWN_SIGNALS:-}" ]; then signals=$SHUTDOWN_SIGNALS
  elif [ $((run % 2)) -eq 1 ]; then signals=term
  else signals=int; fi
  if SHUTDOWN_SIGNALS=$signals .venv/bin/python -m pytest -q -s -p no:cacheprovider "${TARGET[@]}" \
      >"$OUT/run-$run.log" 2>&1; then
    passed=$((passed + 1)); verdict=passed
  else
    verdict="FAILED (see $OUT/run-$run.log)"
  fi
  times=$(grep -o 'SIG[A-Z]*: every process gone in [0-9.]* s' "$OUT/run-$run.log" \
    | sed 's/: every process gone in / /' | tr '\n' ' ')
  echo "run $run/$RUNS: $verdict in $((SECONDS - started)) s; stops: ${times:-none}"
done
echo "test-shutdown: $passed/$RUNS runs passed"
[ "$passed" -eq "$RUNS" ]
