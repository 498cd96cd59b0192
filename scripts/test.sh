#!/usr/bin/env bash
# Type-checks, then runs every unit test (beside the code) and end-to-end test (test/e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit
mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
