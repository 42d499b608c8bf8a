"""Card snapshots: a card's JSON must equal tests/snapshots/<name>.json.

A missing or different snapshot fails; to write them anew (then review the diff), run with
UPDATE_SNAPSHOTS=1, e.g. `UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/test_cards.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"


def check_snapshot(name: str, card: dict[str, Any]) -> None:
    path = SNAPSHOTS / f"{name}.json"
    rendered = json.dumps(card, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(rendered, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"{path} is missing: run with UPDATE_SNAPSHOTS=1 to write it", pytrace=False)
    assert rendered == path.read_text(encoding="utf-8"), f"{name} changed: UPDATE_SNAPSHOTS=1"
