#!/usr/bin/env bash
# Interop suite: real third-party clients and Dovecot from Debian (see .ci/run for the packages).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test/interop -name '*.test.ts' 2>/dev/null | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no interop test files found" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency=1 --test-timeout=300000 "${files[@]}"
