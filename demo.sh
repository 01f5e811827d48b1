#!/usr/bin/env bash
# The main job: sets up a virtual environment in .venv (first run only) and runs the demo.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import metricsd, fakekubelet' 2>/dev/null; then
  echo "demo: installing into .venv (first run only) ..."
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e . >/dev/null
fi
exec .venv/bin/python -m scenarios.demo "$@"
