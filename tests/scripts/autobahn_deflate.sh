#!/usr/bin/env bash
# The Autobahn|Testsuite permessage-deflate cases (12.*, 13.*), strictly (any FAILED or
# NON-STRICT case fails the run), over 127.0.0.1: the fuzzing client against ws_echo_server
# and the fuzzing server against ws_autobahn_client, the two sides in parallel.
#
# All 216 cases take about 5.5 minutes per side and runtime on 2 cores (the suite's Python
# zlib), so each side runs them all on one runtime (server: smol, client: tokio) and groups
# 12.1, 13.1 and 13.7 on the other two. AUTOBAHN_DEFLATE_FULL=1 runs all of them everywhere.
# Stops only the processes it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
autobahn=../shared/tools/autobahn

bash "$autobahn/setup.sh" >/dev/null
cargo build -q --release -p wirestate --all-features --example ws_echo_server --example ws_autobahn_client
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

subset="12.1.*,13.1.*,13.7.*"
cases_for() { # RUNTIME FULL_RUNTIME
  if [ "${AUTOBAHN_DEFLATE_FULL:-0}" = 1 ] || [ "$1" = "$2" ]; then echo "12.*,13.*"; else echo "$subset"; fi
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The server side: ws_echo_server per runtime, under the fuzzing client.
server_side() {
  local status=0 runtime log port cases pid=""
  trap 'exit 1' TERM INT
  trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT
  for runtime in smol tokio blocking; do
    cases=$(cases_for "$runtime" smol)
    log="$work/server-$runtime.log"
    target/release/examples/ws_echo_server --listen 127.0.0.1:0 --runtime "$runtime" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do grep -q '^listening on ' "$log" && break; sleep 0.1; done
    port=$(sed -n 's/^listening on 127\.0\.0\.1://p' "$log")
    echo "== server side: fuzzingclient against ws_echo_server --runtime $runtime, cases $cases"
    AUTOBAHN_SKIP_SETUP=1 AUTOBAHN_TIMEOUT=1200 \
      bash "$autobahn/run-fuzzingclient.sh" --out "$work/reports-$runtime" "$port" "$cases" || status=1
    python3 tests/scripts/autobahn_strict.py "$work/reports-$runtime/reports/index.json" \
      --no-unimplemented || status=1
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  done
  return "$status"
}

# The client side: ws_autobahn_client per runtime, against the fuzzing server.
client_side() {
  local status=0 runtime cases
  AUTOBAHN_PID=""
  trap 'exit 1' TERM INT
  trap '[ -n "$AUTOBAHN_PID" ] && kill "$AUTOBAHN_PID" 2>/dev/null || true' EXIT
  for runtime in tokio smol blocking; do
    cases=$(cases_for "$runtime" tokio)
    eval "$(AUTOBAHN_SKIP_SETUP=1 AUTOBAHN_TIMEOUT=1200 bash "$autobahn/run-fuzzingserver.sh" "$(free_port)" "$cases")"
    echo "== client side: fuzzingserver against ws_autobahn_client --runtime $runtime, cases $cases"
    timeout 1200 target/release/examples/ws_autobahn_client \
      --url "$AUTOBAHN_URL" --agent "wirestate-$runtime" --runtime "$runtime" || status=1
    python3 "$autobahn/summarize.py" "$AUTOBAHN_REPORTS" --expect "$AUTOBAHN_CASES" || status=1
    python3 tests/scripts/autobahn_strict.py "$AUTOBAHN_REPORTS/index.json" \
      --no-unimplemented || status=1
    kill "$AUTOBAHN_PID" 2>/dev/null || true
    AUTOBAHN_PID=""
  done
  return "$status"
}

server_side >"$work/server-side.log" 2>&1 &
pids+=($!)
server_pid=$!
client_side >"$work/client-side.log" 2>&1 &
pids+=($!)
client_pid=$!
status=0
wait "$server_pid" || status=1
wait "$client_pid" || status=1
cat "$work/server-side.log" "$work/client-side.log"
exit "$status"
