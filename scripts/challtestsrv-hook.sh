#!/bin/sh
# DNS-01 hook for the benchmark's other clients: puts/clears the TXT record in pebble-challtestsrv
# (the DNS server Pebble validates against), as alicert's Alidns calls do through the emulator.
#   lego exec provider:  challtestsrv-hook.sh present|cleanup <fqdn> <value>
#   certbot manual hooks: challtestsrv-hook.sh present|cleanup   (CERTBOT_DOMAIN, CERTBOT_VALIDATION)
# BENCH_CHALLTESTSRV is the management URL (http://127.0.0.1:<port>).
set -eu
op=$1
if [ $# -ge 3 ]; then
  host=$2 value=$3
else
  host="_acme-challenge.${CERTBOT_DOMAIN}." value=${CERTBOT_VALIDATION:-}
fi
case $op in
  present) curl -fsS -o /dev/null -X POST "$BENCH_CHALLTESTSRV/set-txt" \
             -d "{\"host\":\"$host\",\"value\":\"$value\"}" ;;
  cleanup) curl -fsS -o /dev/null -X POST "$BENCH_CHALLTESTSRV/clear-txt" \
             -d "{\"host\":\"$host\"}" ;;
  *) echo "usage: $0 present|cleanup [fqdn value]" >&2; exit 2 ;;
esac
