#!/usr/bin/env bash
# Install feedbot into a virtualenv and run the offline demo: a local server serves bundled
# example feeds; feedbot fetches, tags and publishes them into ./demo (site, feeds, digest).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check .
.venv/bin/feedbot demo --dir demo "$@"
