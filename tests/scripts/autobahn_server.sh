#!/usr/bin/env bash
# The Autobahn|Testsuite fuzzing client (cases 1-11; 12/13 need permessage-deflate) against
# ws_echo_server on every runtime, and inline on smol and tokio, over 127.0.0.1. Strict: any
# FAILED or NON-STRICT case fails the run. Stops only the servers it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
autobahn=../shared/tools/autobahn

bash "$autobahn/setup.sh" >/dev/null
cargo build -q --release -p wirestate --all-features --example ws_echo_server
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

status=0
# "-inline": the same runtime with InlineWebSocket (the echoing task drives the connection).
for variant in smol tokio blocking smol-inline tokio-inline; do
  runtime=${variant%-inline}
  inline=off
  [ "$variant" != "$runtime" ] && inline=on
  log="$work/server-$variant.log"
  target/release/examples/ws_echo_server --listen 127.0.0.1:0 --runtime "$runtime" \
    --inline "$inline" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on ' "$log" && break; sleep 0.1; done
  port=$(sed -n 's/^listening on 127\.0\.0\.1://p' "$log")
  echo "== Autobahn fuzzingclient against ws_echo_server --runtime $runtime --inline $inline (port $port)"
  out="$work/reports-$variant"
  AUTOBAHN_SKIP_SETUP=1 AUTOBAHN_TIMEOUT=900 \
    bash "$autobahn/run-fuzzingclient.sh" --no-deflate --out "$out" "$port" || status=1
  python3 tests/scripts/autobahn_strict.py "$out/reports/index.json" || status=1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done
exit "$status"
