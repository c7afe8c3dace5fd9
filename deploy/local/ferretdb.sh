#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Local FerretDB (MongoDB wire protocol on an SQLite folder), built from source, no Docker.
#
#   deploy/local/ferretdb.sh setup    build FerretDB into the cache with Go (once), with the
#                                     patches in deploy/local/ferretdb/ (see README.md)
#   deploy/local/ferretdb.sh start    start it in the background and wait until it answers a ping
#   deploy/local/ferretdb.sh stop     stop it (SIGTERM, then SIGKILL after FERRETDB_STOP_TIMEOUT s)
#   deploy/local/ferretdb.sh status   print "running" and exit 0 when it answers, else exit 1
#
# Environment (defaults in brackets):
#   FERRETDB_PORT [27017]  FERRETDB_DEBUG_PORT [8089] (metrics/pprof HTTP; "off" disables it)
#   FERRETDB_DATA_DIR [$GONGZHI_LOCAL_DIR/ferretdb]  GONGZHI_LOCAL_DIR [<repo>/.local]
#   GONGZHI_CACHE_DIR [<repo>/.cache] (binary at $GONGZHI_CACHE_DIR/ferretdb/bin/ferretdb)
#   FERRETDB_START_TIMEOUT [60]  FERRETDB_STOP_TIMEOUT [30]  FERRETDB_LOG_LEVEL [warn]
#   FERRETDB_SQLITE_SYNCHRONOUS [normal] (SQLite's synchronous pragma: "normal" keeps every
#   committed write through a crash of FerretDB itself, WAL mode, and skips the fsync per
#   commit; "full" also survives a power cut, at several times the cost per write)
#   FERRETDB_GOGC [400] (Go's GOGC for FerretDB: its garbage collector took about a tenth
#   of FerretDB's CPU under load at Go's default of 100, and its live heap is small, so
#   letting the heap grow further between collections costs little memory)
#
# Data folder layout: data/ (SQLite files, one per database), state.json, ferretdb.pid,
# ferretdb.log.
set -euo pipefail

GONGZHI_PROG="ferretdb.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FERRETDB_VERSION="v1.24.2"
FERRETDB_MODULE="github.com/FerretDB/FerretDB"

FERRETDB_PORT="${FERRETDB_PORT:-27017}"
FERRETDB_DEBUG_PORT="${FERRETDB_DEBUG_PORT:-8089}"
FERRETDB_DATA_DIR="${FERRETDB_DATA_DIR:-$GONGZHI_LOCAL_DIR/ferretdb}"
FERRETDB_START_TIMEOUT="${FERRETDB_START_TIMEOUT:-60}"
FERRETDB_STOP_TIMEOUT="${FERRETDB_STOP_TIMEOUT:-30}"
FERRETDB_LOG_LEVEL="${FERRETDB_LOG_LEVEL:-warn}"
FERRETDB_SQLITE_SYNCHRONOUS="${FERRETDB_SQLITE_SYNCHRONOUS:-normal}"
FERRETDB_GOGC="${FERRETDB_GOGC:-400}"

FERRETDB_CACHE="$GONGZHI_CACHE_DIR/ferretdb"
FERRETDB_BIN="$FERRETDB_CACHE/bin/ferretdb"
# Source patches applied in name order before the build (each file says why).
FERRETDB_PATCH_DIR="$GONGZHI_REPO_ROOT/deploy/local/ferretdb"
# Names our build (reported by --version); bump it when the build changes. A binary
# built under another name is rebuilt (binary_ready).
FERRETDB_PACKAGE="gongzhi-local-patches-4"
# Marks the command line of the server (see pid_alive).
FERRETDB_MARK="ferretdb --handler=sqlite"

GO_HINT="install Go >= 1.24 (the golang-go package of your distribution if recent enough, or an official Go release)"

for v in FERRETDB_PORT FERRETDB_START_TIMEOUT FERRETDB_STOP_TIMEOUT FERRETDB_GOGC; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
case "$FERRETDB_SQLITE_SYNCHRONOUS" in
  off | normal | full | extra) ;;
  *) die "FERRETDB_SQLITE_SYNCHRONOUS must be off, normal, full or extra, got '$FERRETDB_SQLITE_SYNCHRONOUS'" ;;
esac
case "$FERRETDB_DEBUG_PORT" in
  off | - | "") DEBUG_ADDR="-" ;;
  *)
    [[ "$FERRETDB_DEBUG_PORT" =~ ^[0-9]+$ ]] || die "FERRETDB_DEBUG_PORT must be a number or 'off'"
    DEBUG_ADDR="127.0.0.1:$FERRETDB_DEBUG_PORT"
    ;;
esac

data_paths() {
  FERRETDB_DATA_DIR="$(abs_dir "$FERRETDB_DATA_DIR")"
  SQLITE_DIR="$FERRETDB_DATA_DIR/data"
  PIDFILE="$FERRETDB_DATA_DIR/ferretdb.pid"
  LOGFILE="$FERRETDB_DATA_DIR/ferretdb.log"
}

binary_ready() {
  local out
  [[ -x "$FERRETDB_BIN" ]] || return 1
  # Capture first: `--version | grep -q` would race (grep exits early, SIGPIPE + pipefail).
  out="$("$FERRETDB_BIN" --version 2>/dev/null)" || return 1
  [[ $'\n'"$out"$'\n' == *$'\n'"version: $FERRETDB_VERSION"$'\n'* ]] &&
    # A binary built with other patches is rebuilt.
    [[ $'\n'"$out"$'\n' == *$'\n'"package: $FERRETDB_PACKAGE"$'\n'* ]]
}

# apply_patches SRC LOG: apply every patch of FERRETDB_PATCH_DIR to the source folder
# SRC, in name order; stop the build at the first one that does not apply.
apply_patches() {
  local src="$1" log="$2" patch name
  local patches=("$FERRETDB_PATCH_DIR"/*.patch)
  [[ -f "${patches[0]}" ]] || die "no *.patch files in $FERRETDB_PATCH_DIR"
  need_cmd git "install git (git apply patches the FerretDB source)"
  # Run inside another git checkout (the default cache is <repo>/.cache), `git apply`
  # takes paths relative to that checkout's root and silently skips those outside the
  # current folder: it would report success and change nothing. An empty repository at
  # SRC makes SRC the root it patches from.
  git -C "$src" init -q || die "git init in $src failed"
  for patch in "${patches[@]}"; do
    name="$(basename "$patch")"
    if ! git -C "$src" apply --verbose "$patch" >>"$log" 2>&1; then
      show_tail "$log" 30
      die "patch $name does not apply to FerretDB $FERRETDB_VERSION (has FerretDB changed? log: $log)"
    fi
    # Proof that the change is in the files: the patch now applies in reverse.
    git -C "$src" apply --reverse --check "$patch" >>"$log" 2>&1 ||
      die "patch $name reported success but the source does not contain it (log: $log)"
    log "applied $name"
  done
}

cmd_setup() {
  if binary_ready; then
    log "FerretDB $FERRETDB_VERSION already built at $FERRETDB_BIN, skipping the build"
    return 0
  fi
  need_cmd go "$GO_HINT"
  log "building FerretDB $FERRETDB_VERSION into $FERRETDB_BIN (takes a few minutes the first time) ..."
  mkdir -p "$FERRETDB_CACHE/bin"

  local src
  # -json prints the module's extracted folder in the (read-only) module cache.
  src="$(go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "$src" && -f "$src/go.mod" ]] || die "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION gave no source folder"

  local work
  work="$(mktemp -d "$FERRETDB_CACHE/build.XXXXXX")"
  # shellcheck disable=SC2064 # expand $work now
  trap "rm -rf -- '$work'" EXIT
  cp -R "$src/." "$work/src"
  chmod -R u+w "$work/src"

  # build/version embeds *.txt: version.txt is required (the module zip lacks it, a plain
  # `go install` builds a binary that panics at start); commit.txt, branch.txt and package.txt
  # are optional and only reported by --version / buildInfo.
  printf '%s\n' "$FERRETDB_VERSION" >"$work/src/build/version/version.txt"
  printf '%s\n' "$FERRETDB_PACKAGE" >"$work/src/build/version/package.txt"

  : >"$FERRETDB_CACHE/build.log"
  apply_patches "$work/src" "$FERRETDB_CACHE/build.log"

  # SQLite and PostgreSQL backends are pure Go (modernc.org/sqlite, pgx): no build tags, no cgo.
  # -buildvcs=false: the temporary folder is no git checkout.
  if ! (cd "$work/src" && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -o "$work/ferretdb" ./cmd/ferretdb) >>"$FERRETDB_CACHE/build.log" 2>&1; then
    show_tail "$FERRETDB_CACHE/build.log" 60
    die "go build of FerretDB failed (full log: $FERRETDB_CACHE/build.log)"
  fi
  mv -f "$work/ferretdb" "$FERRETDB_BIN"
  rm -rf -- "$work"
  trap - EXIT
  binary_ready || die "built $FERRETDB_BIN but '$FERRETDB_BIN --version' does not report $FERRETDB_VERSION"
  log "FerretDB ready: $FERRETDB_BIN"
}

# ping PORT: a real MongoDB-protocol round trip (OP_MSG {ping: 1} on admin, expects ok: 1),
# with nothing but the Python standard library.
ping() {
  local py
  py="$(command -v python3 || true)"
  if [[ -z "$py" ]]; then
    # no Python: fall back to "the port accepts connections"
    port_open "$1"
    return
  fi
  "$py" - "$1" <<'PY'
import socket, struct, sys

def bson_doc(items):
    body = b""
    for key, value in items:
        name = key.encode() + b"\x00"
        if isinstance(value, int):
            body += b"\x10" + name + struct.pack("<i", value)
        else:
            raw = value.encode() + b"\x00"
            body += b"\x02" + name + struct.pack("<i", len(raw)) + raw
    return struct.pack("<i", len(body) + 5) + body + b"\x00"

def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf

doc = bson_doc([("ping", 1), ("$db", "admin")])
payload = struct.pack("<I", 0) + b"\x00" + doc  # flagBits, section kind 0, body
header = struct.pack("<iiii", 16 + len(payload), 1, 0, 2013)  # OP_MSG
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as s:
        s.sendall(header + payload)
        length, _, _, opcode = struct.unpack("<iiii", recv_exact(s, 16))
        reply = recv_exact(s, length - 16)
except (OSError, EOFError):
    sys.exit(1)
marker = b"\x01ok\x00"  # "ok" as a BSON double
i = reply.find(marker)
ok = opcode == 2013 and i >= 0 and struct.unpack("<d", reply[i + 4 : i + 12])[0] == 1.0
sys.exit(0 if ok else 1)
PY
}

cmd_start() {
  data_paths
  local pid
  if pid="$(pid_alive "$PIDFILE" "$FERRETDB_MARK")"; then
    if ping "$FERRETDB_PORT"; then
      log "already running (pid $pid) on 127.0.0.1:$FERRETDB_PORT"
      return 0
    fi
    # started but not answering yet (e.g. a concurrent start): wait below
  else
    if port_open "$FERRETDB_PORT"; then
      die "port $FERRETDB_PORT is taken by another process; set FERRETDB_PORT to a free port"
    fi
    if [[ "$DEBUG_ADDR" != "-" ]] && port_open "$FERRETDB_DEBUG_PORT"; then
      die "debug port $FERRETDB_DEBUG_PORT is taken; set FERRETDB_DEBUG_PORT to a free port or 'off'"
    fi
    binary_ready || cmd_setup
    mkdir -p "$SQLITE_DIR"
    log "starting FerretDB on 127.0.0.1:$FERRETDB_PORT (data $FERRETDB_DATA_DIR)"
    GOGC="$FERRETDB_GOGC" spawn "$PIDFILE" "$LOGFILE" "$FERRETDB_BIN" \
      --handler=sqlite \
      --sqlite-url="file:$SQLITE_DIR/?_pragma=synchronous($FERRETDB_SQLITE_SYNCHRONOUS)" \
      --state-dir="$FERRETDB_DATA_DIR" \
      --listen-addr="127.0.0.1:$FERRETDB_PORT" \
      --debug-addr="$DEBUG_ADDR" \
      --telemetry=disable \
      --log-level="$FERRETDB_LOG_LEVEL"
    pid="$(<"$PIDFILE")"
  fi

  local start deadline
  start="$(now_s)"
  deadline=$((start + FERRETDB_START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_tail "$LOGFILE"
      rm -f "$PIDFILE"
      die "FerretDB exited during startup (log: $LOGFILE)"
    fi
    if ping "$FERRETDB_PORT"; then
      break
    fi
    if (($(now_s) >= deadline)); then
      show_tail "$LOGFILE"
      stop_pid "$PIDFILE" "$FERRETDB_MARK" "$FERRETDB_STOP_TIMEOUT"
      die "FerretDB did not answer a ping on 127.0.0.1:$FERRETDB_PORT within ${FERRETDB_START_TIMEOUT}s (stopped it again; raise FERRETDB_START_TIMEOUT?)"
    fi
    sleep 0.2
  done
  log "FerretDB ready on 127.0.0.1:$FERRETDB_PORT (pid $pid, $(($(now_s) - start))s)"
}

cmd_stop() {
  data_paths
  stop_server FerretDB "$PIDFILE" "$FERRETDB_MARK" "$FERRETDB_STOP_TIMEOUT"
}

cmd_status() {
  data_paths
  server_status "$PIDFILE" "$FERRETDB_MARK" "$FERRETDB_PORT" ping
}

run_command "$@"
