#!/usr/bin/env bash
# make demo: start the local infrastructure if needed, run the demo, stop what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
started_here=0
if ! bash deploy/local/infra.sh status >/dev/null 2>&1; then
  bash deploy/local/infra.sh start
  started_here=1
fi
cleanup() { if [[ $started_here == 1 ]]; then bash deploy/local/infra.sh stop; fi; }
trap cleanup EXIT
export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:${KAFKA_PORT:-9092}"
export MONGODB_URL="mongodb://127.0.0.1:${FERRETDB_PORT:-27017}/"
.venv/bin/python -m devtools.demo
