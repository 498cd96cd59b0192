#!/usr/bin/env bash
# Provides the PostgreSQL database the PostgreSQL store and multi-node tests use, and prints
# its URL. Starts the machine's PostgreSQL 15 cluster if it is not running (needs root).
set -euo pipefail
url=postgres://concord_test:concord_test@127.0.0.1:5432/concord_test
if ! pg_ctlcluster 15 main status >/dev/null 2>&1; then
  pg_ctlcluster 15 main start >&2 \
    || { echo "cannot start PostgreSQL (pg_ctlcluster 15 main start); set CONCORD_TEST_PG_URL to a server of yours" >&2; exit 1; }
fi
runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q >&2 <<'SQL'
SELECT 'CREATE ROLE concord_test LOGIN PASSWORD ''concord_test''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_test')\gexec
SELECT 'CREATE DATABASE concord_test OWNER concord_test' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'concord_test')\gexec
SQL
psql "$url" -qAtc 'SELECT 1' >/dev/null
echo "$url"
