#!/usr/bin/env bash
# Train only when the business's data/, domain.yml or config.yml changed since its
# last model. The fingerprint is a content hash, so a fresh clone or `git checkout`
# of the same content reuses the model and touching a file without changing it does
# not retrain. The business's files come from make (BUSINESS, see the Makefile).
set -euo pipefail
cd "$(dirname "$0")/.."
domain="${BUSINESS_DOMAIN:-domain.yml}"
data="${BUSINESS_DATA:-data}"
model="${BUSINESS_MODEL:-models/assistant.tar.gz}"
name="$(basename "$model" .tar.gz)"
fingerprint=$(find "$data" config.yml "$domain" -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
stamp="models/$name.fingerprint"
if [ -f "$model" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$fingerprint" ] && [ "${1:-}" != "--force" ]; then
  echo "model is up to date ($model)"
  exit 0
fi
echo "training $model (data, config or domain changed)..."
start=$(date +%s)
.venv/bin/rasa train --domain "$domain" --data "$data" --fixed-model-name "$name" --out models
echo "$fingerprint" > "$stamp"
echo "trained in $(( $(date +%s) - start )) s"
