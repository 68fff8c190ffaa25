#!/usr/bin/env bash
# The workshop's console demo with curl: the first request reads the slow database, the second comes from the
# cache, the third shows the TTL counting down, then the key is invalidated. Start the app first:
# ./workbook web (or python app.py here); LAB_WEB_PORT if it runs on another port than 5000.
set -euo pipefail
port="${LAB_WEB_PORT:-5000}"
lang="${LAB_LANG:-${LANGUAGE:-${LC_ALL:-${LC_MESSAGES:-${LANG:-}}}}}"
say() { if [[ "$lang" == fr* ]]; then echo "$2"; else echo "$1"; fi; }
if ! [[ "$port" =~ ^[0-9]+$ ]]; then
  say "LAB_WEB_PORT must be a port number (it is \"$port\")." "LAB_WEB_PORT doit être un numéro de port (il vaut « $port »)."
  exit 2
fi
url="http://127.0.0.1:$port"
# the key percent-encoded (spaces, ?, #, / and accents included), and curl told not to glob it
key="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "${1:-test-key}")"

if ! curl -fsS -o /dev/null "$url/health" 2>/dev/null; then
  say "The app does not answer at $url: start it with ./workbook web (LAB_WEB_PORT=... for another port)." \
      "L'application ne répond pas à l'adresse $url : lancez-la avec ./workbook web (LAB_WEB_PORT=... pour un autre port)."
  exit 1
fi
curl -gs -o /dev/null -X DELETE "$url/api/$key"  # start cold: the first request must read the database

say "1. curl $url/api/$key — a miss: the slow database answers (slow)" \
    "1. curl $url/api/$key — un miss : la base de données lente répond (lentement)"
curl -gs -w "   %{time_total} s\n" "$url/api/$key"
say "2. The same request — a hit: Redis answers (fast)" \
    "2. La même requête — un hit : Redis répond (vite)"
curl -gs -w "   %{time_total} s\n" "$url/api/$key"
sleep 2
say "3. Two seconds later — the TTL (seconds left in the cache) has gone down" \
    "3. Deux secondes plus tard — la durée de vie (TTL, secondes restantes dans le cache) a diminué"
curl -gs "$url/api/$key"
say "4. curl -X DELETE — the key is invalidated: the next request reads the database again" \
    "4. curl -X DELETE — la clé est invalidée : la prochaine requête relira la base de données"
curl -gs -X DELETE "$url/api/$key"
