#!/usr/bin/env bash
# Set up everything the test suite needs (a virtualenv with feedbot and its test tools; Debian's
# PostgreSQL server binaries if missing) and run the linter, the type checker and every test.
# Extra arguments go to pytest, e.g. scripts/test.sh -k store -x
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: PostgreSQL's server binaries (a throwaway cluster for the store
# tests), openssl (a throwaway certificate for the HTTPS test) and chromium (the browser tests
# drive Debian's own build through Playwright; Playwright never downloads a browser here).
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing+=(postgresql)
command -v openssl >/dev/null || missing+=(openssl)
[ -x "${FEEDBOT_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
if ((${#missing[@]})); then
  echo "Installing ${missing[*]}…"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
