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

# The SMS channel's settings (credentials.yml). Without a Twilio account, the local
# emulator plays Twilio: it takes our sends and signs the texts `make phone` sends.
EMULATOR_PORT="${EMULATOR_PORT:-8099}"
export PUBLIC_URL="${PUBLIC_URL:-http://127.0.0.1:$RASA_PORT}"
export TWILIO_MESSAGING_SERVICE_SID="${TWILIO_MESSAGING_SERVICE_SID:-}"
if [ -z "${TWILIO_ACCOUNT_SID:-}" ]; then
  # The emulator's built-in test credentials (tools/emulator_config.py).
  export TWILIO_ACCOUNT_SID="ACe1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1"
  export TWILIO_AUTH_TOKEN="0123456789abcdef0123456789abcdef"
  export TWILIO_NUMBERS="${TWILIO_NUMBERS:-+15017122661}"
  export TWILIO_API_BASE_URL="http://127.0.0.1:$EMULATOR_PORT"
  if [ "$MODE" = "server" ]; then
    .venv/bin/python -m tools.emulator --host 127.0.0.1 --port "$EMULATOR_PORT" \
      --account-sid "$TWILIO_ACCOUNT_SID" --auth-token "$TWILIO_AUTH_TOKEN" \
      --webhook-url "$PUBLIC_URL/webhooks/twilio_sms/webhook" \
      >var/log/emulator.log 2>&1 &
    pids+=($!)
    echo "Twilio emulator on 127.0.0.1:$EMULATOR_PORT (pid $!, log var/log/emulator.log)"
  fi
else
  : "${TWILIO_AUTH_TOKEN:?set TWILIO_AUTH_TOKEN with TWILIO_ACCOUNT_SID}"
  : "${TWILIO_NUMBERS:?set TWILIO_NUMBERS (E.164, comma separated) or a messaging service}"
  export TWILIO_API_BASE_URL="${TWILIO_API_BASE_URL:-https://api.twilio.com}"
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
rasa server on 127.0.0.1:$RASA_PORT (pid $!, SMS webhook $PUBLIC_URL/webhooks/twilio_sms/webhook).
MSG
if [ "$TWILIO_API_BASE_URL" = "http://127.0.0.1:$EMULATOR_PORT" ]; then
  echo "No Twilio account set: replies go to the local emulator. Text the assistant with:"
  echo "  make phone        (in another terminal)"
else
  echo "Point your Twilio number's 'A message comes in' webhook at the URL above."
fi
cat <<MSG
Or over REST:
  curl -s localhost:$RASA_PORT/webhooks/rest/webhook -d '{"sender":"+14155552671","message":"book a cleaning"}'
Ctrl-C stops everything.
MSG
wait "${pids[-1]}"
