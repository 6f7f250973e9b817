#!/usr/bin/env bash
# Stops with how to install it when the local AWS's server (moto_server, a Python package, not a
# Debian one) is missing: run by the test suite's tool check. MOTO_SERVER may name its path.
set -euo pipefail
if [ -z "${MOTO_SERVER:-}" ] && ! command -v moto_server >/dev/null 2>&1; then
  echo "error: moto_server is not on PATH: install it with pip install 'moto[server]' (Python 3), or set MOTO_SERVER to its path" >&2
  exit 1
fi
