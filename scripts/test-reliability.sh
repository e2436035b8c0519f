#!/usr/bin/env bash
# Runs the reliability suite (issue 9): every *.test.ts under test/reliability/
# (hostile input, floods, restarts, crash points, disk full, parser properties).
# Node 20's `node --test` does not find .ts files by itself, so we list them.
# Each file starts its own server; two files run at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
# The flood cases hold 10,000 sockets in the test process and up to 2,000 in the server.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mapfile -t files < <(find test/reliability -name '*.test.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no reliability test files found" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency=2 --test-timeout=900000 "${files[@]}"
