#!/usr/bin/env bash
# Run the whole test suite against a real Kafka broker and MongoDB-protocol server.
# With KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL set, those are used; otherwise the
# local infrastructure is started here (and stopped again if this script started it).
set -euo pipefail
cd "$(dirname "$0")/.."

started_here=0
if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" || -z "${MONGODB_URL:-}" ]]; then
  if ! bash deploy/local/infra.sh status >/dev/null 2>&1; then
    bash deploy/local/infra.sh start
    started_here=1
  fi
  export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:${KAFKA_PORT:-9092}"
  export MONGODB_URL="mongodb://127.0.0.1:${FERRETDB_PORT:-27017}/"
fi
cleanup() { if [[ $started_here == 1 ]]; then bash deploy/local/infra.sh stop; fi; }
trap cleanup EXIT

report=$(mktemp)
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider --junitxml="$report" "$@" || status=$?
# pytest exits 5 when it collected nothing: a run that tested nothing is a failure.
if [[ $status == 5 ]]; then
  echo "test.sh: no test was collected" >&2
  exit 1
fi
ran=$(.venv/bin/python -c "import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); s=r if r.tag=='testsuite' else r[0]; print(int(s.get('tests'))-int(s.get('skipped')))" "$report")
rm -f "$report"
if [[ $status == 0 && $ran == 0 ]]; then
  echo "test.sh: no test was executed" >&2
  exit 1
fi
exit $status
