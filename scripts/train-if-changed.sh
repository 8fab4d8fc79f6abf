#!/usr/bin/env bash
# Train only when data/, config.yml or domain.yml changed since the last model.
# The fingerprint is a content hash, so a fresh clone or `git checkout` of the same
# content reuses the model and touching a file without changing it does not retrain.
set -euo pipefail
cd "$(dirname "$0")/.."
fingerprint=$(find data config.yml domain.yml -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
model="models/assistant.tar.gz"
if [ -f "$model" ] && [ "$(cat models/.fingerprint 2>/dev/null)" = "$fingerprint" ] && [ "${1:-}" != "--force" ]; then
  echo "model is up to date ($model)"
  exit 0
fi
echo "training (data, config or domain changed)..."
start=$(date +%s)
.venv/bin/rasa train --fixed-model-name assistant --out models
echo "$fingerprint" > models/.fingerprint
echo "trained in $(( $(date +%s) - start )) s"
