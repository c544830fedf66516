#!/bin/sh
# otpgate container entrypoint: migrate, then serve.
# Replicas may start together: on PostgreSQL the migration takes an advisory lock, so one
# applies the revisions and the others wait and find the schema up to date.
set -eu
PYTHON="${PYTHON:-python}"
if [ "$#" -gt 0 ]; then
  exec "$PYTHON" -m otpgate "$@"          # e.g. `docker compose run otpgate-1 purge`
fi
"$PYTHON" -m otpgate migrate-db
exec "$PYTHON" -m otpgate serve --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" --workers "${WORKERS:-1}"
