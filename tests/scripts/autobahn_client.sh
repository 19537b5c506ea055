#!/usr/bin/env bash
# The Autobahn|Testsuite fuzzing server (cases 1-11; 12/13 need permessage-deflate) testing
# ws_autobahn_client on every runtime, over 127.0.0.1. Strict: any FAILED or NON-STRICT case
# fails the run. Stops only the fuzzing servers it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
autobahn=../shared/tools/autobahn

bash "$autobahn/setup.sh" >/dev/null
cargo build -q --release -p wirestate --all-features --example ws_autobahn_client
AUTOBAHN_PID=""
trap '[ -n "$AUTOBAHN_PID" ] && kill "$AUTOBAHN_PID" 2>/dev/null || true' EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

status=0
for runtime in smol tokio blocking; do
  eval "$(AUTOBAHN_SKIP_SETUP=1 AUTOBAHN_TIMEOUT=900 bash "$autobahn/run-fuzzingserver.sh" --no-deflate "$(free_port)")"
  echo "== Autobahn fuzzingserver against ws_autobahn_client --runtime $runtime"
  timeout 900 target/release/examples/ws_autobahn_client \
    --url "$AUTOBAHN_URL" --agent "wirestate-$runtime" --runtime "$runtime" || status=1
  python3 "$autobahn/summarize.py" "$AUTOBAHN_REPORTS" --expect "$AUTOBAHN_CASES" || status=1
  python3 tests/scripts/autobahn_strict.py "$AUTOBAHN_REPORTS/index.json" || status=1
  kill "$AUTOBAHN_PID" 2>/dev/null || true
  AUTOBAHN_PID=""
done
exit "$status"
