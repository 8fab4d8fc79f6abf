#!/usr/bin/env bash
# `.env` for the make targets: KEY=value lines (optionally `export KEY=value`,
# quoted or not, `#` comments), exported unless the variable is already set, so
# the shell's own environment wins. Values are never printed or evaluated.
#   scripts/dotenv.sh COMMAND...   run COMMAND with .env loaded
#   . scripts/dotenv.sh            (sourced) define load_dotenv only
# DOTENV names another file (default .env in the project root).

load_dotenv() {
  local file="${1:-${DOTENV:-.env}}" line key value number=0
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    number=$((number + 1))
    line="${line#"${line%%[![:space:]]*}"}"
    [[ -z "$line" || "$line" == \#* ]] && continue
    line="${line#export }"
    if [[ ! "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
      echo "error: $file line $number: expected KEY=value" >&2
      return 2
    fi
    key="${BASH_REMATCH[1]}"
    value="${BASH_REMATCH[2]}"
    if [[ "$value" =~ ^\"(.*)\"[[:space:]]*$ || "$value" =~ ^\'(.*)\'[[:space:]]*$ ]]; then
      value="${BASH_REMATCH[1]}"
    else
      value="${value%%[[:space:]]#*}"
      value="${value%"${value##*[![:space:]]}"}"
    fi
    if [ -z "${!key+x}" ]; then
      export "$key=$value"
    fi
  done <"$file"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  load_dotenv
  exec "$@"
fi
