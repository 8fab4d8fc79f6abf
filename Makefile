# Two commands matter: `make run` (the assistant) and `make test` (everything CI
# checks). Both install what they need: venv, locked packages, redis-server, a model.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

# The business the assistant is built for: empty for this repository's own (the
# files at the top: actions/business.yml, domain.yml, data/, tests/test_stories.yml),
# or a folder holding business.yml, domain.yml, data/, test_stories.yml and bank.yml,
# e.g. `make test BUSINESS=examples/salon` (docs/adapting.md). Its model is
# models/<folder name>.tar.gz. tools/business_folder.py reads BUSINESS the same way.
BUSINESS ?=
ifeq ($(strip $(BUSINESS)),)
export BUSINESS_DOMAIN := domain.yml
export BUSINESS_DATA := data
TEST_STORIES := tests/test_stories.yml
export BUSINESS_MODEL := models/assistant.tar.gz
else
override BUSINESS := $(patsubst %/,%,$(strip $(BUSINESS)))
ifeq ($(wildcard $(BUSINESS)/business.yml),)
$(error BUSINESS=$(BUSINESS) has no business.yml: a business folder holds business.yml, domain.yml, data/, test_stories.yml and bank.yml (docs/adapting.md))
endif
export BUSINESS
export BUSINESS_FILE := $(BUSINESS)/business.yml
export BUSINESS_DOMAIN := $(BUSINESS)/domain.yml
export BUSINESS_DATA := $(BUSINESS)/data
TEST_STORIES := $(BUSINESS)/test_stories.yml
export BUSINESS_MODEL := models/$(notdir $(BUSINESS)).tar.gz
endif

.PHONY: help business-paths install redis train run shell phone emulator import-contacts failed-sends stories-from-logs send send-reminders test test-fast test-cluster test-shutdown soak bench validate pytest test-stories bank crossval lock lint typecheck format clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set (CI sandboxes set it) no .pyc
# is ever written, and every rasa process compiles rasa and tensorflow again (~19 s).
$(VENV)/.installed: requirements.lock
	@test -x $(BIN)/python || "$$(scripts/python310.sh)" -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv==0.13.9
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -r requirements.lock
	@touch $@

install: $(VENV)/.installed  ## create .venv with the locked dependencies

redis:  ## install redis-server if needed and start the project's Redis
	@scripts/redis.sh start >/dev/null && echo "redis on 127.0.0.1:$${REDIS_PORT:-6390}"

business-paths:  ## the business's files this make uses (BUSINESS=folder for another)
	@echo "business file: $(or $(BUSINESS_FILE),actions/business.yml)"; echo "domain: $(BUSINESS_DOMAIN)"; echo "data: $(BUSINESS_DATA)"
	@echo "test stories: $(TEST_STORIES)"; echo "model: $(BUSINESS_MODEL)"

train: install  ## train only if the business's data/, domain.yml or config.yml changed
	@scripts/train-if-changed.sh

run: install train  ## run Redis, the action server and the Rasa server (Ctrl-C stops all)
	@scripts/redis.sh install
	@scripts/run.sh server

phone: install  ## text the running assistant (`make run`) by SMS through the emulator
	$(BIN)/python -m tools.phone --emulator http://127.0.0.1:$${EMULATOR_PORT:-8099} \
	  --from $${PHONE_FROM:-+14155552671} --to $${PHONE_TO:-+15017122661}

emulator: install  ## only the local Twilio emulator (make run starts it when needed)
	$(BIN)/python -m tools.emulator --host 127.0.0.1 --port $${EMULATOR_PORT:-8099} \
	  --webhook-url http://127.0.0.1:$${RASA_PORT:-5005}/webhooks/twilio_sms/webhook

import-contacts: install  ## import a CSV: make import-contacts FILE=c.csv [ARGS=--default-region US]
	@test -n "$(FILE)" || { echo "usage: make import-contacts FILE=contacts.csv"; exit 2; }
	@scripts/redis.sh install
	@scripts/redis.sh start >/dev/null
	scripts/dotenv.sh $(BIN)/python -m tools.import_contacts "$(FILE)" $(ARGS)

send: install  ## text a customer from the business (`make run` up): make send TO=+1... MSG="..." or TEMPLATE=reminder [ARGS=--urgent]
	@test -n "$(TO)" || { echo 'usage: make send TO=+14155552671 MSG="Your order is ready" (or TEMPLATE=reminder)'; exit 2; }
	@scripts/dotenv.sh $(BIN)/python -m tools.send --to "$(TO)" $(if $(MSG),--message "$(MSG)") $(if $(TEMPLATE),--template "$(TEMPLATE)") $(ARGS)

send-reminders: install  ## text tomorrow's reminders (one per appointment, skips opted-out numbers and quiet hours)
	@scripts/dotenv.sh $(BIN)/python -m tools.send_reminders $(ARGS)

stories-from-logs: install  ## real conversations as masked test stories: make stories-from-logs SINCE=7d [NUMBER=+1...] [ARGS=--worth-fixing]
	@scripts/dotenv.sh bash -c 'REDIS_URL="$${REDIS_URL:-$$(.venv/bin/python -m redisio.settings)}" exec "$$@"' _ \
	  $(BIN)/python -m tools.stories_from_logs --since "$(or $(SINCE),7d)" $(if $(NUMBER),--number "$(NUMBER)") $(ARGS)

failed-sends: install  ## replies not delivered and texts given up on [ARGS=--json|--show-text]
	@scripts/dotenv.sh $(BIN)/python -m tools.failed_sends $(ARGS)

.PHONY: check-credentials
check-credentials: install  ## ask Twilio whether the account, numbers (or Messaging Service) and webhooks match the settings
	@scripts/dotenv.sh $(BIN)/python -m tools.check_credentials

shell: install train  ## talk to the assistant in the terminal (offline)
	@scripts/redis.sh install
	@scripts/run.sh shell

validate: install  ## rasa data validate (warnings are errors), and the NLU's service words against the business file
	$(BIN)/rasa data validate --fail-on-warnings --domain $(BUSINESS_DOMAIN) --data $(BUSINESS_DATA)
	$(BIN)/python -m tools.check_services

pytest: install train  ## the pytest suite (starts its own Redis and servers)
	@scripts/redis.sh install
	@scripts/chromium.sh install
	$(BIN)/python -m pytest -q --durations=25

test-fast: install  ## unit and in-process tests: no model, no servers, a fifth of the property examples (the inner loop)
	@scripts/redis.sh install
	PROPERTY_EXAMPLES_SCALE=0.2 $(BIN)/python -m pytest -q -m "not e2e and not slow" --durations=5

# The suites whose subject is Redis: the stores, the channel's Redis-level tests, the
# cluster's own tests and the e2e SMS suite (the whole stack on the cluster).
CLUSTER_TESTS := tests/test_redis_cluster.py tests/stores/test_tracker_store.py \
  tests/stores/test_lock_store.py tests/stores/test_contacts.py \
  tests/connectors/test_inbox.py tests/connectors/test_worker.py \
  tests/connectors/test_inactivity.py tests/connectors/test_sender.py \
  tests/connectors/test_status.py tests/connectors/test_keywords.py \
  tests/connectors/test_housekeeping.py tests/connectors/test_keyspace.py \
  tests/actions/test_appointment_store.py tests/e2e/test_sms_channel.py

test-cluster: install train  ## the Redis suites and the e2e SMS suite on a 3-master Redis Cluster on loopback (not in make test)
	@scripts/redis.sh install
	REDIS_CLUSTER=true $(BIN)/python -m pytest -q --durations=10 $(CLUSTER_TESTS)

test-stories: train  ## rasa test on the test stories (and tests/from_logs/), any wrong prediction fails
	$(BIN)/rasa test core --model $(BUSINESS_MODEL) --stories $(TEST_STORIES) \
	  --fail-on-prediction-errors --out results/stories
	@if ls tests/from_logs/*.yml >/dev/null 2>&1; then \
	  $(BIN)/rasa test core --model $(BUSINESS_MODEL) --stories tests/from_logs \
	    --fail-on-prediction-errors --out results/from_logs; fi

test: lint typecheck validate train test-stories pytest  ## everything CI runs

test-shutdown: install train  ## 20 stops of the whole stack under CPU load; prints N/20
	@scripts/redis.sh install
	@scripts/test-shutdown.sh $${RUNS:-20}

bench: install train  ## R vs P1 vs P2 vs the in-process ceiling, N=1/10/50, 0/150 ms; 14-17 min; figures to bench/RESULTS.md
	@scripts/redis.sh install
	$(BIN)/python -m bench.throughput $(ARGS)

soak: install train  ## fault soak: 2 replicas, 20 phones, 5 min of faults; figures to bench/RESULTS.md
	@scripts/redis.sh install
	$(BIN)/python -m bench.soak $(ARGS)

bank: install train  ## the conversation bank alone: 419 customers book or move in-process; report in results/conversation_bank.md
	@scripts/redis.sh install
	$(BIN)/python -m pytest -q tests/e2e/test_conversation_bank.py

crossval: install  ## 5-fold NLU cross-validation, folds fixed (CROSSVAL_SEED); fails if weighted intent F1 < 0.90
	$(BIN)/python -m tools.crossval --nlu $(BUSINESS_DATA)/nlu --config config.yml --cross-validation --folds 5 --out results/crossval
	$(BIN)/python scripts/check_f1.py results/crossval/intent_report.json 0.90

lock:  ## re-pin every dependency from requirements.in
	$(BIN)/uv pip compile requirements.in --python-version 3.10 \
	  --python-platform x86_64-unknown-linux-gnu -o requirements.lock

lint: install  ## ruff
	$(BIN)/ruff check actions api connectors stores tools tests scripts bench redisio replytext policies analytics
	$(BIN)/ruff format --check actions api connectors stores tools tests scripts bench redisio replytext policies analytics

typecheck: install  ## mypy on the servers' code (settings in pyproject.toml)
	$(BIN)/mypy

format: install  ## ruff format and ruff check --fix
	$(BIN)/ruff format actions api connectors stores tools tests scripts bench redisio replytext policies analytics
	$(BIN)/ruff check --fix actions api connectors stores tools tests scripts bench redisio replytext policies analytics

clean:  ## remove models, results and the venv (not Redis data)
	rm -rf models results $(VENV)
