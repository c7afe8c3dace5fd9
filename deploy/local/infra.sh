#!/usr/bin/env bash
# Local infrastructure for Gongzhi, no Docker: Apache Kafka (KRaft) + FerretDB (MongoDB protocol).
#
#   deploy/local/infra.sh setup    fetch/build both into the cache (reused on later runs)
#   deploy/local/infra.sh start    start both and wait until both answer
#   deploy/local/infra.sh stop     stop both (no error when not running)
#   deploy/local/infra.sh status   one line per server; exit 0 only when both answer
#
# All environment variables of kafka.sh and ferretdb.sh apply. To run a second, isolated pair
# (e.g. for tests), give it its own data root and ports:
#   GONGZHI_LOCAL_DIR=/some/tmp KAFKA_PORT=19092 KAFKA_CONTROLLER_PORT=19093 \
#     FERRETDB_PORT=27018 FERRETDB_DEBUG_PORT=off deploy/local/infra.sh start
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

case "${1:-}" in
  setup)
    "$here/kafka.sh" setup
    "$here/ferretdb.sh" setup
    ;;
  start)
    "$here/kafka.sh" start
    "$here/ferretdb.sh" start
    ;;
  stop)
    rc=0
    "$here/ferretdb.sh" stop || rc=$?
    "$here/kafka.sh" stop || rc=$?
    exit "$rc"
    ;;
  status)
    rc=0
    out="$("$here/kafka.sh" status)" || rc=1
    printf 'kafka:    %s\n' "$out"
    out="$("$here/ferretdb.sh" status)" || rc=1
    printf 'ferretdb: %s\n' "$out"
    exit "$rc"
    ;;
  *)
    echo "usage: $0 {setup|start|stop|status}" >&2
    exit 2
    ;;
esac
