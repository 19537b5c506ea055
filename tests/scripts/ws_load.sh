#!/usr/bin/env bash
# WebSocket load on loopback: ws_echo_server on smol and on tokio, each with 5000 concurrent
# connections from tests/examples/ws_load.rs exchanging messages on all of them, with the
# server's memory per idle connection. Stops only the servers it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
connections=${WS_LOAD_CONNECTIONS:-5000}

# Both ends run here: a descriptor per connection on each side, and some to spare.
want=$((2 * connections + 1000))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then want=$hard; fi
ulimit -n "$want"
if [ "$(ulimit -n)" -lt $((2 * connections + 100)) ]; then
  echo "ws_load: only $(ulimit -n) file descriptors allowed; $((2 * connections + 100)) needed" >&2
  exit 1
fi

cargo build -q --release -p wirestate --all-features --example ws_echo_server
cargo build -q --release -p wirestate-tests --example ws_load
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

status=0
for runtime in smol tokio; do
  log="$work/server-$runtime.log"
  target/release/examples/ws_echo_server --listen 127.0.0.1:0 --runtime "$runtime" --deflate off >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on ' "$log" && break; sleep 0.1; done
  address=$(sed -n 's/^listening on //p' "$log")
  echo "== ws_load: $connections connections against ws_echo_server --runtime $runtime ($address)"
  timeout 300 target/release/examples/ws_load --url "ws://$address/" --connections "$connections" \
    --messages 10 --server-pid "$pid" || status=1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done
exit "$status"
