#!/usr/bin/env bash
# Start Redis (if not already up), the action server and the Rasa server; Ctrl-C
# stops everything this script started, by PID. `scripts/run.sh shell` runs
# `rasa shell` in the foreground instead of the HTTP server.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-server}"
RASA_PORT="${RASA_PORT:-5005}"
ACTION_PORT="${ACTION_PORT:-5055}"
export REDIS_PORT="${REDIS_PORT:-6390}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:${REDIS_PORT}/0}"
export RASA_TELEMETRY_ENABLED=false
mkdir -p var/log

pids=()
stop_all() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped: ${pids[*]}"
}
trap stop_all INT TERM EXIT

if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  pids+=("$(scripts/redis.sh start)")
  echo "redis on 127.0.0.1:$REDIS_PORT (pid ${pids[-1]}, data in var/redis)"
fi

# rasa_sdk reads its bind address from SANIC_HOST only.
SANIC_HOST=127.0.0.1 .venv/bin/rasa run actions --actions actions --port "$ACTION_PORT" \
  >var/log/actions.log 2>&1 &
pids+=($!)
echo "action server on 127.0.0.1:$ACTION_PORT (pid $!, log var/log/actions.log)"

if [ "$MODE" = "shell" ]; then
  .venv/bin/rasa shell --model models/assistant.tar.gz --interface 127.0.0.1 \
    --port "$RASA_PORT" --endpoints "${RASA_ENDPOINTS:-endpoints.yml}"
  exit 0
fi

.venv/bin/rasa run --model models/assistant.tar.gz --enable-api \
  --interface 127.0.0.1 --port "$RASA_PORT" \
  --credentials credentials.yml --endpoints "${RASA_ENDPOINTS:-endpoints.yml}" &
pids+=($!)
cat <<MSG
rasa server on 127.0.0.1:$RASA_PORT (pid $!). Try:
  curl -s localhost:$RASA_PORT/webhooks/rest/webhook -d '{"sender":"+15555550123","message":"book a cleaning"}'
Ctrl-C stops everything.
MSG
wait "${pids[-1]}"
