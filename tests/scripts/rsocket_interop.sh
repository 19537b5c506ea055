#!/usr/bin/env bash
# Interop with Python rsocket-py (from PyPI) over 127.0.0.1, TCP and WebSocket, fragments off
# and at 1024 bytes: rsocket_peer's client against an rsocket-py server, and an rsocket-py
# client against rsocket_peer's server (tests/interop/rsocket_interop.py). The venv is reused
# across runs. The Python script bounds every wait and stops only the processes it started,
# by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."

rsocket_version=0.4.20
websockets_version=17.4
venv=${XDG_CACHE_HOME:-$HOME/.cache}/wirestate-rsocket-venv
python=$venv/bin/python

if ! "$python" -c 'import sys' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
fi
installed=$("$python" -c '
from importlib.metadata import version, PackageNotFoundError
try:
    print(version("rsocket"), version("websockets"))
except PackageNotFoundError:
    print("missing")
' 2>/dev/null || true)
if [ "$installed" != "$rsocket_version $websockets_version" ]; then
  timeout 300 "$python" -m pip install -q --disable-pip-version-check \
    "rsocket==$rsocket_version" "websockets==$websockets_version"
fi

cargo build -q --release -p wirestate-tests --example rsocket_peer

# SIGINT lets the script stop its own processes on the way out.
timeout -s INT -k 30 900 "$python" tests/interop/rsocket_interop.py --bin-dir target/release/examples
