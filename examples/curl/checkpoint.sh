#!/bin/sh
# Seal and prove a checkpoint before a deploy through the operator's HTTP API.
# Exits 0 only when the checkpoint is Proven; prints the API's JSON answer.
#
#   PGCHECKPOINT_API=https://pgcheckpoint.example.com   # the chart's Service or Ingress
#   TOKEN=$(kubectl create token deployer -n shop)        # any token the cluster accepts
#   NAMESPACE=shop DATABASE=prod-api TAG=pre-deploy-$SHA COMMIT=$SHA examples/curl/checkpoint.sh
#
# The server answers when the checkpoint is Proven (200) or Failed (422). If the checkpoint is
# still running when the server's or a proxy's wait ends (504, or no answer), the same POST is
# sent again: it waits on the same checkpoint, never starts a second one. DEADLINE bounds it all.
set -eu
: "${PGCHECKPOINT_API:?set PGCHECKPOINT_API to the API's base URL}"
: "${TOKEN:?set TOKEN, e.g. TOKEN=\$(kubectl create token SA -n NS)}"
: "${NAMESPACE:?}" "${DATABASE:?}" "${TAG:?}"
DEADLINE="${DEADLINE:-3600}"        # seconds in all
WAIT="${WAIT:-10m}"                 # per request; keep it below your proxies' idle timeouts
json_string() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
body=$(printf '{"database":"%s","tag":"%s","commit":"%s","reason":"%s"}' \
  "$(json_string "$DATABASE")" "$(json_string "$TAG")" "$(json_string "${COMMIT:-}")" "$(json_string "${REASON:-pre-deploy}")")
answer=$(mktemp)
trap 'rm -f "$answer"' EXIT
start=$(date +%s)
while :; do
  code=$(curl -sS -o "$answer" -w '%{http_code}' --max-time 900 -X POST \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data "$body" \
    "$PGCHECKPOINT_API/api/v1/namespaces/$NAMESPACE/checkpoints?wait=$WAIT" || true)
  case "$code" in
    200) cat "$answer"; exit 0 ;;
    504|502|000)
      if [ $(( $(date +%s) - start )) -ge "$DEADLINE" ]; then
        echo "checkpoint $TAG not Proven within ${DEADLINE}s; it goes on in the cluster" >&2; cat "$answer" >&2; exit 2
      fi
      sleep 5 ;;
    *) cat "$answer" >&2; exit 1 ;;
  esac
done
