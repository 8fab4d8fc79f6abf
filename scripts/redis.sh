#!/usr/bin/env bash
# The project's own Redis: installed from Debian if absent, on loopback, AOF on.
#   scripts/redis.sh install   install redis-server if it is missing
#   scripts/redis.sh start     start it (no-op if already answering); prints its PID
#   scripts/redis.sh stop      stop the server this script started
# Settings (docs/deployment.md): REDIS_PORT, REDIS_DIR, REDIS_APPENDFSYNC
# (everysec|always|no), REDIS_MAXMEMORY (e.g. 512mb, 2gb).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${REDIS_PORT:-6390}"
DIR="${REDIS_DIR:-var/redis}"
case "$DIR" in /*) ;; *) DIR="$(pwd)/$DIR" ;; esac
# everysec: a machine (not Redis) going down can lose up to 1 s of texts already
# answered 200; always: none, for an fsync per write (bench/RESULTS.md has the cost).
APPENDFSYNC="${REDIS_APPENDFSYNC:-everysec}"
# A ceiling, so a leak shows as refused writes (the webhook answers 503 and Twilio
# retries) instead of the machine swapping. noeviction: Redis must never pick what
# to forget; an evicted opt-out or queued text would be lost silently.
MAXMEMORY="${REDIS_MAXMEMORY:-1gb}"
case "$APPENDFSYNC" in
  everysec|always|no) ;;
  *) echo "error: REDIS_APPENDFSYNC must be everysec, always or no, got '$APPENDFSYNC'" >&2; exit 2 ;;
esac
if ! [[ "$MAXMEMORY" =~ ^[0-9]+([kmg]b?)?$ ]]; then
  echo "error: REDIS_MAXMEMORY must be a size such as 512mb or 2gb, got '$MAXMEMORY'" >&2
  exit 2
fi

install() {
  command -v redis-server >/dev/null 2>&1 && return 0
  echo "redis-server not found: installing the Debian package" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
}

ping() { redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1; }

start() {
  install
  mkdir -p "$DIR"
  if ping; then cat "$DIR/redis.pid" 2>/dev/null || true; return 0; fi
  redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DIR" \
    --appendonly yes --appendfsync "$APPENDFSYNC" --save "" \
    --maxmemory "$MAXMEMORY" --maxmemory-policy noeviction \
    --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" \
    --daemonize yes
  for _ in $(seq 50); do ping && break; sleep 0.1; done
  ping || { echo "error: redis did not start, see $DIR/redis.log" >&2; exit 1; }
  cat "$DIR/redis.pid"
}

stop() {
  if [ -f "$DIR/redis.pid" ]; then
    kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
    rm -f "$DIR/redis.pid"
  fi
}

"${1:-start}"
