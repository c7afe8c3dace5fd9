# shellcheck shell=bash
# Helpers shared by deploy/local/{kafka,ferretdb,infra}.sh. Source it, do not run it.
#
# Folders (all overridable through the environment):
#   GONGZHI_CACHE_DIR   downloaded/built tools, reusable by every instance  (default <repo>/.cache)
#   GONGZHI_LOCAL_DIR   root of the per-instance data folders               (default <repo>/.local)

# Repository root, from this file's own location (deploy/local/lib.sh).
GONGZHI_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GONGZHI_CACHE_DIR="${GONGZHI_CACHE_DIR:-$GONGZHI_REPO_ROOT/.cache}"
GONGZHI_LOCAL_DIR="${GONGZHI_LOCAL_DIR:-$GONGZHI_REPO_ROOT/.local}"
# Relative folders are taken from the current directory; make them absolute once, so the
# background servers and later stop/status calls agree on them.
[[ "$GONGZHI_CACHE_DIR" == /* ]] || GONGZHI_CACHE_DIR="$PWD/$GONGZHI_CACHE_DIR"
[[ "$GONGZHI_LOCAL_DIR" == /* ]] || GONGZHI_LOCAL_DIR="$PWD/$GONGZHI_LOCAL_DIR"

# Name of the calling script, for messages ("kafka.sh: ...").
GONGZHI_PROG="${GONGZHI_PROG:-$(basename "$0")}"

log() {
  printf '%s: %s\n' "$GONGZHI_PROG" "$*" >&2
}

die() {
  log "$*"
  exit 1
}

# abs_dir DIR: create DIR if needed and print its absolute path.
abs_dir() {
  mkdir -p -- "$1"
  (cd -- "$1" && pwd)
}

# need_cmd CMD HINT: fail with a one-line message when CMD is not on PATH.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive PIDFILE PATTERN: print the pid and succeed when PIDFILE names a live process whose
# command line contains PATTERN (guards against a recycled pid).
pid_alive() {
  local pidfile="$1" pattern="$2" pid args
  [[ -s "$pidfile" ]] || return 1
  pid="$(<"$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  args="$(ps -o args= -p "$pid" 2>/dev/null || true)"
  [[ "$args" == *"$pattern"* ]] || return 1
  printf '%s\n' "$pid"
}

# stop_pid PIDFILE PATTERN TIMEOUT: SIGTERM, wait up to TIMEOUT seconds, then SIGKILL.
# No error when nothing is running.
stop_pid() {
  local pidfile="$1" pattern="$2" timeout="$3" pid i
  if ! pid="$(pid_alive "$pidfile" "$pattern")"; then
    rm -f -- "$pidfile"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still alive after ${timeout}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f -- "$pidfile"
}

# stop_server LABEL PIDFILE PATTERN TIMEOUT: stop_pid, saying so when something was running.
stop_server() {
  local label="$1" pidfile="$2" pattern="$3" timeout="$4"
  if pid_alive "$pidfile" "$pattern" >/dev/null; then
    log "stopping $label (pid $(<"$pidfile"))"
  fi
  stop_pid "$pidfile" "$pattern" "$timeout"
}

# server_status PIDFILE PATTERN PORT PROBE: print running / starting / stopped and succeed only
# when the process is alive and `PROBE PORT` says the server answers.
server_status() {
  local pidfile="$1" pattern="$2" port="$3" probe="$4" pid
  if pid="$(pid_alive "$pidfile" "$pattern")" && "$probe" "$port"; then
    echo "running (pid $pid, 127.0.0.1:$port)"
    return 0
  fi
  if [[ -n "${pid:-}" ]]; then
    echo "starting (pid $pid, 127.0.0.1:$port not answering yet)"
  else
    echo "stopped"
  fi
  return 1
}

# run_command SUBCOMMAND: call the server script's cmd_setup / cmd_start / cmd_stop / cmd_status.
run_command() {
  case "${1:-}" in
    setup | start | stop | status) "cmd_$1" ;;
    *)
      echo "usage: $0 {setup|start|stop|status}" >&2
      exit 2
      ;;
  esac
}

# spawn PIDFILE LOGFILE CMD...: start CMD detached (own session when setsid exists, stdin
# closed, output appended to LOGFILE) and record its pid. The child writes its own pid before
# exec'ing CMD, so the pid file is right even when setsid has to fork.
spawn() {
  local pidfile="$1" logfile="$2" i
  shift 2
  rm -f -- "$pidfile"
  local -a detach=()
  if command -v setsid >/dev/null 2>&1; then
    detach=(setsid)
  fi
  # shellcheck disable=SC2016 # $$ and "$@" expand in the child shell
  nohup "${detach[@]}" bash -c 'printf "%s\n" "$$" >"$0"; exec "$@"' "$pidfile" "$@" \
    </dev/null >>"$logfile" 2>&1 &
  for ((i = 0; i < 50; i++)); do
    [[ -s "$pidfile" ]] && return 0
    sleep 0.1
  done
  die "could not start $1 (no pid file $pidfile)"
}

# show_tail FILE [LINES]: print the end of a log file to stderr, for failure messages.
show_tail() {
  local file="$1" lines="${2:-40}"
  if [[ -s "$file" ]]; then
    printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
    tail -n "$lines" -- "$file" >&2
    printf -- '-----\n' >&2
  fi
}

# sha256_of FILE: print the hex digest of FILE.
sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum -- "$1" | cut -d' ' -f1
  else
    shasum -a 256 -- "$1" | cut -d' ' -f1
  fi
}

# now_s: seconds since the epoch (integer).
now_s() {
  date +%s
}
