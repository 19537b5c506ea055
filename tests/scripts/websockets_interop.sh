#!/usr/bin/env bash
# Interop with Python websockets (from PyPI) on every runtime, over 127.0.0.1: a websockets
# client against ws_echo_server, and ws_interop_client against a websockets echo server
# (tests/interop/websockets_interop.py). The venv is reused across runs. The Python script
# bounds every wait and stops only the processes it started, by PID.
#
# With --tls, the same both ways over TLS (wss://) instead, with certificates made for the run
# in a temp folder by tls_test_pki.py (`cryptography` from PyPI, in the same venv).
set -euo pipefail
cd "$(dirname "$0")/../.."

tls=0
case "${1:-}" in
  "") ;;
  --tls) tls=1 ;;
  *) echo "usage: $0 [--tls]" >&2; exit 2 ;;
esac

websockets_version=17.4
cryptography_version=50.0.2
venv=${XDG_CACHE_HOME:-$HOME/.cache}/wirestate-interop-venv
python=$venv/bin/python

if ! "$python" -c 'import sys' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
fi
if [ "$("$python" -c 'import websockets; print(websockets.__version__)' 2>/dev/null)" != "$websockets_version" ]; then
  timeout 300 "$python" -m pip install -q --disable-pip-version-check "websockets==$websockets_version"
fi
if [ "$tls" = 1 ] &&
  [ "$("$python" -c 'import cryptography; print(cryptography.__version__)' 2>/dev/null)" != "$cryptography_version" ]; then
  timeout 300 "$python" -m pip install -q --disable-pip-version-check "cryptography==$cryptography_version"
fi

cargo build -q --release -p wirestate --all-features --example ws_echo_server --example ws_interop_client

# SIGINT lets the script stop its own processes on the way out.
if [ "$tls" = 0 ]; then
  timeout -s INT -k 30 900 "$python" tests/interop/websockets_interop.py --bin-dir target/release/examples
else
  pki=$(mktemp -d)
  trap 'rm -rf "$pki"' EXIT
  "$python" tests/scripts/tls_test_pki.py "$pki"
  timeout -s INT -k 30 900 "$python" tests/interop/websockets_interop.py --bin-dir target/release/examples \
    --tls "$pki"
fi
