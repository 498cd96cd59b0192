#!/usr/bin/env bash
# Type-checks, checks the import rules (.dependency-cruiser.cjs), lints (eslint.config.mjs), checks the formatting (Prettier), builds
# dist/ (what every end-to-end test's `concord` process runs), then runs every unit test (beside the code) and
# end-to-end test (test/e2e, test/security), the PostgreSQL ones included: without
# CONCORD_TEST_PG_URL it provides the local database.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CONCORD_TEST_PG_URL:-}" ]; then
  CONCORD_TEST_PG_URL=$(bash scripts/test-postgres.sh)
  export CONCORD_TEST_PG_URL
fi
npx tsc --noEmit
npm run --silent lint:deps
npm run --silent lint
npm run --silent format:check
npm run --silent build
mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
