#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Local single-node Apache Kafka (KRaft, broker+controller in one JVM), no Docker.
#
#   deploy/local/kafka.sh setup    fetch the Kafka jars with Maven into the cache (once)
#   deploy/local/kafka.sh start    start the broker in the background and wait until it answers
#   deploy/local/kafka.sh stop     stop it (SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT s)
#   deploy/local/kafka.sh status   print "running" and exit 0 when it answers, else exit 1
#
# Environment (defaults in brackets):
#   KAFKA_PORT [9092]  KAFKA_CONTROLLER_PORT [9093]  KAFKA_HEAP [512m]
#   KAFKA_DATA_DIR [$GONGZHI_LOCAL_DIR/kafka]  GONGZHI_LOCAL_DIR [<repo>/.local]
#   GONGZHI_CACHE_DIR [<repo>/.cache] (jars go to $GONGZHI_CACHE_DIR/kafka/libs)
#   KAFKA_START_TIMEOUT [90]  KAFKA_STOP_TIMEOUT [30]  KAFKA_LOG_LEVEL [INFO]
#   MAVEN_ARGS: extra arguments for mvn (e.g. -Dmaven.repo.local=...)
#
# Data folder layout: server.properties, log4j2.properties, kafka.pid, data/ (log.dirs,
# with meta.properties once formatted), logs/server.log (broker log), kafka.out (stdout/stderr).
set -euo pipefail

GONGZHI_PROG="kafka.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$GONGZHI_LOCAL_DIR/kafka}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
KAFKA_LOG_LEVEL="${KAFKA_LOG_LEVEL:-INFO}"

KAFKA_POM="$GONGZHI_REPO_ROOT/deploy/local/kafka/pom.xml"
KAFKA_CACHE="$GONGZHI_CACHE_DIR/kafka"
KAFKA_LIBS="$KAFKA_CACHE/libs"
KAFKA_STAMP="$KAFKA_CACHE/libs.stamp"
# Marks the java command line of the broker (see pid_alive).
KAFKA_MAIN="kafka.Kafka"

JAVA_HINT="install OpenJDK 17 (apt-get install openjdk-17-jre-headless)"
MVN_HINT="install Maven 3 (apt-get install maven)"

for v in KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_START_TIMEOUT KAFKA_STOP_TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done

data_paths() {
  KAFKA_DATA_DIR="$(abs_dir "$KAFKA_DATA_DIR")"
  PROPS="$KAFKA_DATA_DIR/server.properties"
  LOG4J="$KAFKA_DATA_DIR/log4j2.properties"
  TOOLS_LOG4J="$KAFKA_DATA_DIR/tools-log4j2.properties"
  PIDFILE="$KAFKA_DATA_DIR/kafka.pid"
  OUTFILE="$KAFKA_DATA_DIR/kafka.out"
  LOGS_DIR="$KAFKA_DATA_DIR/logs"
  LOG_DIRS="$KAFKA_DATA_DIR/data"
}

libs_ready() {
  [[ -f "$KAFKA_STAMP" ]] &&
    [[ "$(<"$KAFKA_STAMP")" == "$(sha256_of "$KAFKA_POM")" ]] &&
    compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null
}

cmd_setup() {
  if libs_ready; then
    log "Kafka jars already in $KAFKA_LIBS (pom unchanged), skipping Maven"
    return 0
  fi
  need_cmd java "$JAVA_HINT"
  need_cmd mvn "$MVN_HINT"
  log "fetching Kafka jars with Maven into $KAFKA_LIBS ..."
  mkdir -p "$KAFKA_CACHE"
  rm -rf "$KAFKA_STAMP" "$KAFKA_LIBS.new"
  # Run Maven on a copy of the POM inside the cache, so nothing (target/) lands in the repo.
  cp "$KAFKA_POM" "$KAFKA_CACHE/pom.xml"
  # shellcheck disable=SC2086 # MAVEN_ARGS is a list of extra arguments
  if ! mvn -B -q -f "$KAFKA_CACHE/pom.xml" ${MAVEN_ARGS:-} \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS.new" \
    >"$KAFKA_CACHE/mvn.log" 2>&1; then
    show_tail "$KAFKA_CACHE/mvn.log" 60
    die "mvn dependency:copy-dependencies failed (full log: $KAFKA_CACHE/mvn.log)"
  fi
  compgen -G "$KAFKA_LIBS.new/kafka_2.13-*.jar" >/dev/null ||
    die "Maven ran but no kafka_2.13 jar in $KAFKA_LIBS.new"
  # Swap in one step (a running broker keeps its open jars), so stale jars never mix in.
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.new" "$KAFKA_LIBS"
  sha256_of "$KAFKA_POM" >"$KAFKA_STAMP"
  log "Kafka jars ready ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)"
}

# run_tool CLASS ARGS...: run a Kafka command-line class with the cached jars, logging
# (WARN and up) to stderr.
run_tool() {
  local cls="$1"
  shift
  java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$TOOLS_LOG4J" \
    -cp "$KAFKA_LIBS/*" "$cls" "$@"
}

write_config() {
  mkdir -p "$LOGS_DIR" "$LOG_DIRS"
  cat >"$PROPS" <<EOF
# Written by deploy/local/kafka.sh at every start; edits are overwritten.
process.roles=broker,controller
node.id=1
# Static single-voter quorum: unlike controller.quorum.bootstrap.servers + format --standalone,
# the voter endpoint is not stored in the metadata log, so ports can change between starts.
controller.quorum.voters=1@127.0.0.1:${KAFKA_CONTROLLER_PORT}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${LOG_DIRS}
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.retention.bytes=268435456
log.segment.bytes=67108864
log.retention.check.interval.ms=60000
num.network.threads=2
num.io.threads=4
EOF
  cat >"$LOG4J" <<EOF
# Written by deploy/local/kafka.sh: broker log to logs/server.log, nothing on the terminal.
status = warn
name = gongzhi-local-kafka
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${LOGS_DIR}/server.log
appender.file.filePattern = ${LOGS_DIR}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = ${KAFKA_LOG_LEVEL}
rootLogger.appenderRef.file.ref = FILE
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
EOF
  cat >"$TOOLS_LOG4J" <<'EOF'
# Written by deploy/local/kafka.sh: command-line tools log WARN and up to stderr.
status = warn
name = gongzhi-local-kafka-tools
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
}

format_storage() {
  if [[ -f "$LOG_DIRS/meta.properties" ]]; then
    return 0
  fi
  local cluster_id
  cluster_id="$(run_tool kafka.tools.StorageTool random-uuid 2>>"$OUTFILE")" ||
    die "kafka.tools.StorageTool random-uuid failed (see $OUTFILE)"
  log "formatting $LOG_DIRS (cluster id $cluster_id)"
  if ! run_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >>"$OUTFILE" 2>&1; then
    show_tail "$OUTFILE"
    die "kafka.tools.StorageTool format failed"
  fi
}

# answers: true when the broker serves metadata requests (a real client round trip).
answers() {
  port_open "$KAFKA_PORT" || return 1
  local t=()
  if command -v timeout >/dev/null 2>&1; then
    t=(timeout 30)
  fi
  "${t[@]}" java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$TOOLS_LOG4J" -cp "$KAFKA_LIBS/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list \
    >/dev/null 2>>"$KAFKA_DATA_DIR/readiness.log"
}

cmd_start() {
  data_paths
  local pid
  if pid="$(pid_alive "$PIDFILE" "$KAFKA_MAIN")"; then
    if port_open "$KAFKA_PORT"; then
      log "already running (pid $pid) on 127.0.0.1:$KAFKA_PORT"
      return 0
    fi
    # started but not answering yet (e.g. a concurrent start): wait below
  else
    if port_open "$KAFKA_PORT"; then
      die "port $KAFKA_PORT is taken by another process; set KAFKA_PORT to a free port"
    fi
    if port_open "$KAFKA_CONTROLLER_PORT"; then
      die "port $KAFKA_CONTROLLER_PORT is taken by another process; set KAFKA_CONTROLLER_PORT to a free port"
    fi
    need_cmd java "$JAVA_HINT"
    libs_ready || cmd_setup
    write_config
    format_storage
    log "starting Kafka on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT, data $KAFKA_DATA_DIR)"
    spawn "$PIDFILE" "$OUTFILE" java "-Xmx$KAFKA_HEAP" "-Xms$KAFKA_HEAP" -XX:+UseG1GC \
      -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      -Dkafka.logs.dir="$LOGS_DIR" -Dlog4j2.configurationFile="$LOG4J" \
      -cp "$KAFKA_LIBS/*" "$KAFKA_MAIN" "$PROPS"
    pid="$(<"$PIDFILE")"
  fi

  local start deadline
  start="$(now_s)"
  deadline=$((start + KAFKA_START_TIMEOUT))
  : >"$KAFKA_DATA_DIR/readiness.log"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_tail "$OUTFILE"
      show_tail "$LOGS_DIR/server.log"
      rm -f "$PIDFILE"
      die "Kafka exited during startup (logs: $OUTFILE, $LOGS_DIR/server.log)"
    fi
    if port_open "$KAFKA_PORT" && answers; then
      break
    fi
    if (($(now_s) >= deadline)); then
      show_tail "$LOGS_DIR/server.log"
      show_tail "$KAFKA_DATA_DIR/readiness.log" 10
      stop_pid "$PIDFILE" "$KAFKA_MAIN" "$KAFKA_STOP_TIMEOUT"
      die "Kafka did not answer on 127.0.0.1:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s (stopped it again; raise KAFKA_START_TIMEOUT?)"
    fi
    sleep 0.5
  done
  log "Kafka ready on 127.0.0.1:$KAFKA_PORT (pid $pid, $(($(now_s) - start))s)"
}

cmd_stop() {
  data_paths
  stop_server Kafka "$PIDFILE" "$KAFKA_MAIN" "$KAFKA_STOP_TIMEOUT"
}

cmd_status() {
  data_paths
  server_status "$PIDFILE" "$KAFKA_MAIN" "$KAFKA_PORT" port_open
}

run_command "$@"
