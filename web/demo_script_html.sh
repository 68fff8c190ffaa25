#!/usr/bin/env bash
# The workshop's visual test: open the app's page in a browser — on WSL (wslview, else explorer.exe), macOS
# (open) or a Linux desktop (xdg-open) — or print its address. Start the app first: ./workbook web.
set -uo pipefail
port="${LAB_WEB_PORT:-5000}"
lang="${LAB_LANG:-${LANGUAGE:-${LC_ALL:-${LC_MESSAGES:-${LANG:-}}}}}"
say() { if [[ "$lang" == fr* ]]; then echo "$2"; else echo "$1"; fi; }
if ! [[ "$port" =~ ^[0-9]+$ ]]; then
  say "LAB_WEB_PORT must be a port number (it is \"$port\")." "LAB_WEB_PORT doit être un numéro de port (il vaut « $port »)."
  exit 2
fi
key="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "${1:-test-key}")"
url="http://127.0.0.1:$port/?key=$key"

opened=""
if grep -qi microsoft /proc/version 2>/dev/null; then  # WSL: the browser is Windows'
  if command -v wslview >/dev/null; then wslview "$url" && opened=1
  elif command -v explorer.exe >/dev/null; then explorer.exe "$url"; opened=1  # (explorer.exe exits 1 even when it opens)
  fi
elif [ "$(uname)" = Darwin ]; then
  open "$url" && opened=1
elif [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v xdg-open >/dev/null; then
  xdg-open "$url" >/dev/null 2>&1 && opened=1
fi
if [ -z "$opened" ]; then
  say "Open this address in your browser: $url" "Ouvrez cette adresse dans votre navigateur : $url"
fi
say "Then: the first lookup says slow_db (about 2 s); Look up again: cache, in a few ms; watch the TTL count down, \
and Invalidate to start over." \
    "Ensuite : la première lecture affiche slow_db (environ 2 s) ; cliquez de nouveau sur « Lire » : cette fois cache, \
en quelques ms ; regardez la durée de vie (TTL) décroître, puis cliquez sur « Invalider » pour recommencer."
