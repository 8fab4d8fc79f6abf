#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (Rasa 3.6 needs < 3.11).
# pyenv's 3.10.13 first (its global version may be 3.11), then python3.10 on PATH.
set -euo pipefail
if command -v pyenv >/dev/null 2>&1; then
  candidate="$(pyenv root)/versions/3.10.13/bin/python3.10"
  if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
  for dir in "$(pyenv root)"/versions/3.10.*; do
    if [ -x "$dir/bin/python3.10" ]; then echo "$dir/bin/python3.10"; exit 0; fi
  done
fi
if command -v python3.10 >/dev/null 2>&1; then command -v python3.10; exit 0; fi
echo "error: Python 3.10 not found (install it with pyenv: pyenv install 3.10.13)" >&2
exit 1
