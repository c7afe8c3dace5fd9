#!/usr/bin/env bash
# Print a new .env for docker-compose.yml with fresh secrets and a Kafka cluster id:
#   deploy/new-env.sh > .env && chmod 600 .env
# then fill in the three URLs at the top. Run it once per deployment: the cluster id
# and the database passwords are fixed when the volumes are first created
# (deploy/README.md says how to rotate them later).
#   deploy/new-env.sh --kafka-user NAME
# prints a fresh Kafka principal entry for an outside system instead, to add to
# KAFKA_SYSTEM_USERS (deploy/README.md, "Add an outside system").
set -euo pipefail

# token BYTES: random bytes as URL-safe base64 without padding (letters, digits, - and _),
# safe inside a Kafka JAAS line, a YAML file and a shell word alike.
token() {
  head -c "$1" /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

# A Kafka cluster id is a 16-byte UUID in URL-safe base64 (22 characters). Kafka's own
# generator never starts one with '-' (it would read as an option), nor does this.
cluster_id() {
  local id
  id="$(token 16)"
  while [[ "$id" == -* ]]; do
    id="$(token 16)"
  done
  printf '%s' "$id"
}

if [[ "${1:-}" == "--kafka-user" ]]; then
  # The same rule as shared/access.py: valid in a topic name and a JAAS option.
  if [[ $# -ne 2 || ! "$2" =~ ^[a-z0-9][a-z0-9-]{0,99}$ ]]; then
    echo "usage: $0 --kafka-user NAME (lowercase letters, digits and '-')" >&2
    exit 2
  fi
  printf 'user_%s="%s"\n' "$2" "$(token 24)"
  exit 0
fi

# The first contact seal key is named after the day it was made, so a later key sorts after it.
seal_key_id="k$(date -u +%Y%m%d)"

cat <<ENV
# Made by deploy/new-env.sh on $(date -u +%Y-%m-%d). Keep this file private (chmod 600).
# Fill in these two before the first start (docker compose refuses empty values):
# where residents and responders open a complaint (notify's links):
GONGZHI_PUBLIC_BASE_URL=
# the receiver the demo directory's webhooks go to (your own directory may not use it):
GONGZHI_ALERT_BASE_URL=

# Fixed at the first start: changing it later means a new, empty Kafka.
KAFKA_CLUSTER_ID=$(cluster_id)

# Kafka principals: admin (broker, kafka-init, operators) and one per service.
KAFKA_ADMIN_PASSWORD=$(token 24)
KAFKA_INTAKE_PASSWORD=$(token 24)
KAFKA_ROUTING_PASSWORD=$(token 24)
KAFKA_NOTIFY_PASSWORD=$(token 24)
KAFKA_STATS_PASSWORD=$(token 24)
# Outside systems' principals, none yet: one user_<name>="<password>" entry each, the
# whole list in single quotes (deploy/new-env.sh --kafka-user NAME makes an entry).
KAFKA_SYSTEM_USERS=

# MongoDB: root for operators and backups, gongzhi (readWrite on gongzhi) for the services.
MONGO_ROOT_PASSWORD=$(token 24)
MONGO_APP_PASSWORD=$(token 24)

# Reporters' contacts are sealed by intake and opened by notify and stats with this key
# ring (id:key entries, comma-separated; the id named below seals; deploy/README.md says
# how to rotate). Webhooks are signed with the webhook secret ("new,old" while rotating).
GONGZHI_CONTACT_SEAL_KEYS=${seal_key_id}:$(token 32)
GONGZHI_CONTACT_SEAL_KEY_ID=${seal_key_id}
GONGZHI_TRACKING_SECRET=$(token 32)
GONGZHI_WEBHOOK_SECRET=$(token 32)
# stats: seals the console's signed-in keys and signs its forms (changing it signs everyone out).
GONGZHI_CONSOLE_SECRET=$(token 32)

# --profile monitoring
GRAFANA_ADMIN_PASSWORD=$(token 18)
ENV
