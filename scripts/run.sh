#!/usr/bin/env bash
# Runs MeetBot locally: creates .venv on first use, (re)installs the bot when pyproject changes, serves it.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.meetbot-run
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e . && touch "$stamp"
fi
exec .venv/bin/python app.py "$@"
