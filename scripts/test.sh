#!/usr/bin/env bash
# Runs every *.test.ts under src/ and test/ (unit, golden, contract, integration); the interop
# and reliability suites have their own scripts (npm run test:interop, npm run test:reliability).
# Node 20's `node --test` does not find .ts files by itself, so we list them.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find src test -name '*.test.ts' -not -path '*/interop/*' -not -path '*/reliability/*' | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
# The timeout also bounds each whole file; on a loaded machine a slow integration file needs
# minutes, so it only catches hangs (issue 9: tests must pass beside CPU-burning processes).
exec node --import tsx --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
