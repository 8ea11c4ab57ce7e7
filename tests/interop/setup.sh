#!/usr/bin/env bash
# Installs the third-party servers of the interoperability tests (tests/interop.rs): the Python
# packages of requirements.txt into tests/interop/.venv, and the Node packages of
# package-lock.json into tests/interop/node_modules. Does nothing when both are up to date.
set -euo pipefail
cd "$(dirname "$0")"

if ! cmp -s requirements.txt .venv/installed-requirements.txt; then
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  cp requirements.txt .venv/installed-requirements.txt
fi

if ! cmp -s package-lock.json node_modules/installed-package-lock.json; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/installed-package-lock.json
fi
