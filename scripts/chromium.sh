#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser test (tests/e2e/test_dashboard.py):
# installed from the Debian package if absent; Playwright drives it, and downloads
# no browser of its own.
#   scripts/chromium.sh install   install chromium if it is missing
#   scripts/chromium.sh path      print the browser's path
set -euo pipefail

BROWSER="${CHROMIUM:-/usr/bin/chromium}"

install() {
  [ -x "$BROWSER" ] && return 0
  echo "chromium not found: installing the Debian package" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

case "${1:-}" in
  install) install ;;
  path) echo "$BROWSER" ;;
  *) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
