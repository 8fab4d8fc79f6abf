#!/usr/bin/env bash
# Start Redis (if not already up), the emulator (no Twilio account), the action
# server and the Rasa server. Ctrl-C, or SIGTERM to this script, stops what it
# started in order (Rasa server first, Redis last) within 9 s; anything still
# running then is killed and named. Exit status: 0 after a clean
# stop, 1 if something had to be killed or a server died on its own.
# `scripts/run.sh shell` runs `rasa shell` in the foreground instead of the server.
set -euo pipefail
cd "$(dirname "$0")/.."

# A shell that starts with SIGINT ignored (a CI job, nohup, `cmd &` in another
# script) can never trap it: Ctrl-C and `kill -INT` would do nothing and the stack
# would run on. Start over once with the default disposition (GNU env).
sigint_ignored() {
  local mask
  mask=$(awk '/^SigIgn:/ {print $2}' /proc/$$/status 2>/dev/null) || return 1
  (( (16#${mask:-0} & 2) != 0 ))
}
if [ -z "${RUN_SH_SIGNALS_RESET:-}" ] && sigint_ignored; then
  export RUN_SH_SIGNALS_RESET=1
  if env --default-signal=INT true 2>/dev/null; then
    exec env --default-signal=INT "$0" "$@"
  fi
  echo "warning: SIGINT is ignored in this shell: stop with SIGTERM (kill $$)" >&2
fi

# .env (git-ignored; .env.example lists every variable): the shell's own
# environment wins over it.
. scripts/dotenv.sh
load_dotenv || exit 2

MODE="${1:-server}"
# The one port everything is reached on: the ingress (connectors/ingress.py) answers
# Twilio there and passes every other path to the Rasa servers on TURNS_PORT.
RASA_PORT="${RASA_PORT:-5005}"
TURNS_PORT="${TURNS_PORT:-$((RASA_PORT + 1))}"
export ACTION_PORT="${ACTION_PORT:-5055}"
export REDIS_PORT="${REDIS_PORT:-6390}"
# The channel (credentials.yml), the stores (endpoints.yml) and the action server all
# read REDIS_URL; its default is spelled once, in redisio/settings.py.
export REDIS_URL="${REDIS_URL:-$(.venv/bin/python -m redisio.settings)}"
export RASA_TELEMETRY_ENABLED=false
# Server processes on the Rasa port: one per core by default, each a full Rasa
# server with its own SMS worker, sharing Redis (Rasa's own multi-process mode,
# which it allows with a Redis-backed lock store). WORKERS=1 for one process.
WORKERS="${WORKERS:-$(nproc 2>/dev/null || echo 1)}"
case "$WORKERS" in
  ''|*[!0-9]*|0) echo "error: WORKERS must be a whole number of at least 1, got '$WORKERS'" >&2; exit 2 ;;
esac
LOG_DIR="${LOG_DIR:-var/log}"
# Credentials for everything on the Rasa port except Twilio's signed webhooks and
# the health route (docs/twilio-setup.md, "What to expose"). Unset: both are off.
export RASA_API_TOKEN="${RASA_API_TOKEN:-}" REST_CHANNEL_SECRET="${REST_CHANNEL_SECRET:-}"
for secret in RASA_API_TOKEN REST_CHANNEL_SECRET; do
  value="${!secret}"
  if [ -n "$value" ] && [ ${#value} -lt 16 ]; then
    echo "error: $secret is shorter than 16 characters (try: openssl rand -hex 24)" >&2
    exit 2
  fi
done
# With a Twilio account, what it needs is checked before anything starts.
if [ -n "${TWILIO_ACCOUNT_SID:-}" ]; then
  settings_error=""
  if [ -z "${TWILIO_AUTH_TOKEN:-}" ]; then
    settings_error="TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not"
  elif [ -z "${PUBLIC_URL:-}" ]; then
    # Twilio signs each webhook with the URL it calls: a guessed base URL would
    # make every real text a 403, so there is no default.
    settings_error="TWILIO_ACCOUNT_SID is set but PUBLIC_URL is not: set it to the base URL Twilio calls (e.g. https://bot.example.com; docs/twilio-setup.md)"
  elif [ -z "${TWILIO_NUMBERS:-}" ] && [ -z "${TWILIO_MESSAGING_SERVICE_SID:-}" ]; then
    settings_error="set TWILIO_NUMBERS (E.164, comma separated) or TWILIO_MESSAGING_SERVICE_SID (MG...) so replies have a sender"
  fi
  if [ -n "$settings_error" ]; then
    echo "error: $settings_error" >&2
    exit 2
  fi
fi
# The business file (actions/business.yml, or BUSINESS_FILE): every problem in it,
# one line per key, before any server starts.
.venv/bin/python -m actions >/dev/null || {
  echo "error: fix the business file above (docs/adapting.md)" >&2
  exit 2
}
mkdir -p "$LOG_DIR"
# Prometheus: every server process writes its figures here and GET /metrics sums
# them (analytics/metrics.py). Emptied at each start: the counters restart with
# the stack, as Prometheus expects of a restarted target.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-var/metrics}"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -delete

# Each server gets its own process group (job control), so a Ctrl-C reaches only
# this script, which then stops them in order; with one group, every process
# would get it at once and the Rasa server would lose Redis mid-shutdown.
[ "$MODE" = "server" ] && set -m

redis_pid="" emulator_pid="" actions_pid="" rasa_pid="" ingress_pid=""

running() {  # alive and not a zombie
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

now() { echo $(( $(date +%s%N) / 100000000 )); }  # tenths of a second

forced=()
# stop_by DEADLINE PID...: SIGTERM now, SIGKILL what still runs at DEADLINE (now()).
stop_by() {
  local deadline=$1 pid
  shift
  local pids=() left=()
  for pid in "$@"; do if [ -n "$pid" ]; then pids+=("$pid"); fi; done
  if [ ${#pids[@]} -eq 0 ]; then return 0; fi
  kill -TERM "${pids[@]}" 2>/dev/null || true
  while :; do
    left=()
    for pid in "${pids[@]}"; do if running "$pid"; then left+=("$pid"); fi; done
    if [ ${#left[@]} -eq 0 ]; then return 0; fi
    if [ "$(now)" -ge "$deadline" ]; then break; fi
    sleep 0.1
  done
  for pid in "${left[@]}"; do
    forced+=("$pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-50))")
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# The ingress and the Rasa servers first (up to 6 s): unfinished turns stay queued
# in Redis. Then what they used (by 8 s), Redis last (by 9 s).
stop_all() {
  local code=$1 start
  trap '' INT TERM  # a second Ctrl-C must not cut the stop short
  trap - EXIT
  start=$(now)
  stop_by $((start + 60)) "$ingress_pid" "$rasa_pid"
  stop_by $((start + 80)) "$actions_pid" "$emulator_pid"
  stop_by $((start + 90)) "$redis_pid"
  wait 2>/dev/null || true
  if [ ${#forced[@]} -gt 0 ]; then
    echo "forced: still running at the stop deadline, killed: ${forced[*]}" >&2
    exit 1
  fi
  echo "stopped cleanly in $(( ($(now) - start) * 100 )) ms"
  exit "$code"
}
trap 'stop_all 0' INT TERM
trap 'stop_all 1' EXIT

if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  redis_pid="$(scripts/redis.sh start)"
  echo "redis on 127.0.0.1:$REDIS_PORT (pid $redis_pid, data in ${REDIS_DIR:-var/redis})"
fi

# Contacts and inactivity timers stored under their names from before the Redis
# Cluster work move to the new ones once, before any server reads them.
.venv/bin/python -m redisio.legacy_keys

# The SMS channel's settings (credentials.yml). Without a Twilio account, the local
# emulator plays Twilio: it takes our sends and signs the texts `make phone` sends.
EMULATOR_PORT="${EMULATOR_PORT:-8099}"
export TWILIO_MESSAGING_SERVICE_SID="${TWILIO_MESSAGING_SERVICE_SID:-}"
if [ -z "${TWILIO_ACCOUNT_SID:-}" ]; then
  export PUBLIC_URL="${PUBLIC_URL:-http://127.0.0.1:$RASA_PORT}"
  # The emulator's built-in test credentials (tools/emulator/config.py).
  export TWILIO_ACCOUNT_SID="ACe1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1"
  export TWILIO_AUTH_TOKEN="0123456789abcdef0123456789abcdef"
  export TWILIO_NUMBERS="${TWILIO_NUMBERS:-+15017122661}"
  export TWILIO_API_BASE_URL="http://127.0.0.1:$EMULATOR_PORT"
  if [ "$MODE" = "server" ]; then
    .venv/bin/python -m tools.emulator --host 127.0.0.1 --port "$EMULATOR_PORT" \
      --account-sid "$TWILIO_ACCOUNT_SID" --auth-token "$TWILIO_AUTH_TOKEN" \
      --webhook-url "$PUBLIC_URL/webhooks/twilio_sms/webhook" \
      >"$LOG_DIR/emulator.log" 2>&1 &
    emulator_pid=$!
    echo "Twilio emulator on 127.0.0.1:$EMULATOR_PORT (pid $!, log $LOG_DIR/emulator.log)"
  fi
else
  export TWILIO_NUMBERS="${TWILIO_NUMBERS:-}"  # credentials.yml names it
  export TWILIO_API_BASE_URL="${TWILIO_API_BASE_URL:-https://api.twilio.com}"
fi

# rasa_sdk reads its bind address from SANIC_HOST only; Sanic would wait up to 15 s
# for a request in flight at shutdown, more than the whole stop budget.
SANIC_HOST=127.0.0.1 SANIC_GRACEFUL_SHUTDOWN_TIMEOUT=1 .venv/bin/rasa run actions --actions actions --port "$ACTION_PORT" \
  >"$LOG_DIR/actions.log" 2>&1 &
actions_pid=$!
echo "action server on 127.0.0.1:$ACTION_PORT (pid $!, log $LOG_DIR/actions.log)"

if [ "$MODE" = "shell" ]; then
  .venv/bin/rasa shell --model "${BUSINESS_MODEL:-models/assistant.tar.gz}" --interface 127.0.0.1 \
    --port "$RASA_PORT" --endpoints "${RASA_ENDPOINTS:-endpoints.yml}"
  stop_all 0
fi

api_args=()
if [ -n "$RASA_API_TOKEN" ]; then
  api_args=(--enable-api --auth-token "$RASA_API_TOKEN")
fi
SANIC_WORKERS="$WORKERS" .venv/bin/rasa run --model "${BUSINESS_MODEL:-models/assistant.tar.gz}" "${api_args[@]}" \
  --interface 127.0.0.1 --port "$TURNS_PORT" \
  --credentials "${RASA_CREDENTIALS:-credentials.yml}" --endpoints "${RASA_ENDPOINTS:-endpoints.yml}" &
rasa_pid=$!
echo "rasa server on 127.0.0.1:$TURNS_PORT (pid $!, $WORKERS process(es): the turns, and every route but Twilio's)"
# Twilio's webhook in a process of its own, so its answer never waits behind a turn.
.venv/bin/python -m connectors.ingress --host 127.0.0.1 --port "$RASA_PORT" \
  --upstream "http://127.0.0.1:$TURNS_PORT" --credentials "${RASA_CREDENTIALS:-credentials.yml}" \
  >"$LOG_DIR/ingress.log" 2>&1 &
ingress_pid=$!
set +m  # groups are set; no job notices in the log
cat <<MSG
ingress on 127.0.0.1:$RASA_PORT (pid $!, log $LOG_DIR/ingress.log): SMS webhook $PUBLIC_URL/webhooks/twilio_sms/webhook, everything else passed to the rasa server.
MSG
if [ "$TWILIO_API_BASE_URL" = "http://127.0.0.1:$EMULATOR_PORT" ]; then
  echo "No Twilio account set: replies go to the local emulator. Text the assistant with:"
  echo "  make phone        (in another terminal)"
else
  echo "Point your Twilio number's 'A message comes in' webhook at the URL above."
fi
if [ -n "$RASA_API_TOKEN" ]; then
  echo "Rasa HTTP API on: every request needs ?token=\$RASA_API_TOKEN."
else
  echo "Rasa HTTP API off (set RASA_API_TOKEN, 16+ characters, to turn it on)."
fi
if [ -n "$REST_CHANNEL_SECRET" ]; then
  cat <<MSG
REST channel on (local use). Talk to the assistant with:
  curl -s localhost:$RASA_PORT/webhooks/rest/webhook -H "X-Rest-Secret: \$REST_CHANNEL_SECRET" \
    -d '{"sender":"+14155552671","message":"book a cleaning"}'
MSG
else
  echo "REST channel off (set REST_CHANNEL_SECRET, 16+ characters, to turn it on)."
fi
echo "Ctrl-C stops everything."
# Until a signal (the trap stops everything) or a server dies on its own.
set +e
wait -n $rasa_pid $ingress_pid $actions_pid $emulator_pid
status=$?
set -e
echo "error: a server exited on its own (status $status): stopping the rest" >&2
stop_all 1
