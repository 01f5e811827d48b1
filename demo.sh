#!/usr/bin/env bash
# The main job: sets up a virtual environment in .venv (first run only) and runs the demo.
set -euo pipefail
here=$PWD  # the demo runs here, so that a relative --artifacts DIR is where the user typed it
cd "$(dirname "$0")"
root=$PWD
venv=.venv
if [ -f .venv ]; then
  # a PEP 832 redirect file (newer tox writes one): use the environment it names
  venv=$(sed -n 1p .venv)
  case "$venv" in /*) ;; *) venv="./$venv" ;; esac
fi
# the test extra too: the README's and the docs' pytest lines run in this same environment
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import metricsd, fakekubelet, pytest' 2>/dev/null; then
  if [ -f .venv ]; then
    echo "demo: .venv points at $venv, which has no metricsd (or no pytest); remove the file .venv and run again" >&2
    exit 1
  fi
  echo "demo: installing into .venv (first run only) ..."
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[test]' >/dev/null
fi
case "$venv" in /*) ;; *) venv="$root/${venv#./}" ;; esac
cd "$here"
# -P: the user's directory is not put on sys.path (a "scenarios" folder there would shadow ours)
exec "$venv/bin/python" -P -m scenarios.demo "$@"
