#!/usr/bin/env bash
# The Autobahn|Testsuite fuzzing client over TLS: cases 1-10 (12/13 need permessage-deflate)
# against `ws_echo_server --tls-cert --tls-key` on every runtime, at wss://127.0.0.1:PORT.
# Strict, as autobahn_server.sh: any FAILED or NON-STRICT case, or a closing behaviour other
# than OK or INFORMATIONAL, fails the run. The certificates are made for this run in a temp
# folder (tls_test_pki.py, with the `cryptography` package the Autobahn venv already pins).
#
# The suite's client does not verify the server's certificate: wstest's fuzzingclient uses
# Twisted's `ssl.ClientContextFactory` (no verification, no SNI) unless the spec names a
# "hostname", which run-fuzzingclient.sh does not write. Verification over wss:// is what
# `websockets_interop.sh --tls` checks, with Python's ssl and with our client.
#
# Stops only the servers it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
autobahn=../shared/tools/autobahn
autobahn_python=${AUTOBAHN_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/autobahn-testsuite-py3}/bin/python

bash "$autobahn/setup.sh" >/dev/null
cargo build -q --release -p wirestate --all-features --example ws_echo_server
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$autobahn_python" tests/scripts/tls_test_pki.py "$work/pki"

status=0
summary=()
for runtime in smol tokio blocking; do
  log="$work/server-$runtime.log"
  target/release/examples/ws_echo_server --listen 127.0.0.1:0 --runtime "$runtime" \
    --tls-cert "$work/pki/server.pem" --tls-key "$work/pki/server.key" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on ' "$log" && break; sleep 0.1; done
  port=$(sed -n 's/^listening on 127\.0\.0\.1://p' "$log")
  if [ -z "$port" ]; then
    echo "ws_echo_server --runtime $runtime did not start:" >&2
    cat "$log" >&2
    status=1
    summary+=("$runtime: did not start")
  else
    echo "== Autobahn fuzzingclient against ws_echo_server --runtime $runtime over TLS (wss://127.0.0.1:$port)"
    out="$work/reports-$runtime"
    start=$(date +%s)
    AUTOBAHN_SKIP_SETUP=1 AUTOBAHN_TIMEOUT=600 \
      bash "$autobahn/run-fuzzingclient.sh" --no-deflate --agent "wirestate-$runtime-tls" \
      --out "$out" "wss://127.0.0.1:$port" || status=1
    python3 tests/scripts/autobahn_strict.py "$out/reports/index.json" || status=1
    took=$(($(date +%s) - start))
    counts=$(python3 - "$out/reports/index.json" <<'PY' || echo "no report"
import collections, json, sys
cases = next(iter(json.load(open(sys.argv[1])).values()))
seen = collections.Counter(result["behavior"] for result in cases.values())
close = sum(result.get("behaviorClose") not in ("OK", "INFORMATIONAL") for result in cases.values())
order = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
parts = [f"{name} {seen.pop(name, 0)}" for name in order] + [f"{k} {v}" for k, v in seen.items()]
print(f"{len(cases)} cases: {', '.join(parts)}; closing not OK {close}")
PY
)
    summary+=("$runtime: $counts, ${took} s")
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "ws_echo_server --runtime $runtime is gone after the run:" >&2
      cat "$log" >&2
      status=1
    fi
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done

echo "== Autobahn over TLS, summary"
printf '  %s\n' "${summary[@]}"
if [ "$status" -eq 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL"; fi
exit "$status"
