#!/usr/bin/env bash
# Stops with how to install it when the local AWS's server (moto's, a Python package, not a Debian
# one) is missing: run by the test suite's tool check. LOCAL_AWS_PYTHON may name the Python that has it.
set -euo pipefail
python="${LOCAL_AWS_PYTHON:-python3}"
if ! "$python" -c 'import moto.server' >/dev/null 2>&1; then
  echo "error: the local AWS needs moto's server, which $python cannot import: install it with pip install 'moto[server]' (Python 3), or set LOCAL_AWS_PYTHON to a Python 3 that has it" >&2
  exit 1
fi
