#!/usr/bin/env bash
# Runs the socket examples against each other on every runtime, over 127.0.0.1:
# line_echo_server + line_echo_client, and udp_echo as server and client. Every wait is
# bounded, and only the processes started here are stopped, by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build -q -p wirestate --all-features --examples
bin=target/debug/examples
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts "$@" in the background and sets $addr once it prints "listening on". It runs in
# this shell (never in a $(...) subshell), so that the PID it records is the one cleaned up.
start_server() {
  local log="$work/server.$RANDOM.log"
  "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    if grep -q '^listening on ' "$log"; then
      addr=$(sed -n 's/^listening on //p' "$log" | head -n 1)
      return 0
    fi
    sleep 0.1
  done
  echo "server did not start: $*" >&2
  cat "$log" >&2
  return 1
}

passed=0
failed=0
check() { # name expected actual
  if [ "$2" = "$3" ]; then
    echo "PASS $1"
    passed=$((passed + 1))
  else
    echo "FAIL $1: expected $(printf %q "$2"), got $(printf %q "$3")"
    failed=$((failed + 1))
  fi
}

for runtime in smol tokio blocking; do
  start_server "$bin/line_echo_server" --listen 127.0.0.1:0 --runtime "$runtime"
  for client_runtime in smol tokio blocking; do
    got=$(printf 'hello\nsecond line\n' |
      timeout 20 "$bin/line_echo_client" --connect "$addr" --runtime "$client_runtime")
    check "line echo: $client_runtime client, $runtime server" $'hello\nsecond line' "$got"
  done
  start_server "$bin/udp_echo" --listen 127.0.0.1:0 --runtime "$runtime"
  got=$(timeout 20 "$bin/udp_echo" --send "$addr" --message "datagram on $runtime" --runtime "$runtime")
  check "udp echo: $runtime" "datagram on $runtime" "$got"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
