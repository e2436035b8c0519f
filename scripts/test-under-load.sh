#!/usr/bin/env bash
# Runs the unit and integration tests (scripts/test.sh) once more with CPU-burning
# processes beside them (issue 9): no test may depend on how fast the machine is.
# The burners live at most LOAD_SECONDS and are killed when this script exits.
set -euo pipefail
cd "$(dirname "$0")/.."
burners="${LOAD_BURNERS:-2}"
lifetime="${LOAD_SECONDS:-1800}"
pids=()
stop_burners() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_burners EXIT
for _ in $(seq "$burners"); do
  timeout "$lifetime" sh -c 'while :; do :; done' &
  pids+=("$!")
done
echo "running the tests beside ${burners} CPU-burning processes (pids ${pids[*]})"
npm run build --silent
bash scripts/test.sh
