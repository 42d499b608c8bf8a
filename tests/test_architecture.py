"""The folders import what docs/ARCHITECTURE.md says they may, and botbuilder stays at the edge."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = ("botbuilder", "botframework", "msrest")

# Each package of MeetBot and the packages it may import (besides itself): one direction only.
ALLOWED: dict[str, set[str]] = {
    "bot/core": set(),
    "cards": {"bot/core"},
    "bot/graph": {"bot/core"},
    "bot/storage": {"bot/core"},
    "bot/auth": {"bot/core", "bot/settings"},
    "bot/usecases": {"bot/core", "bot/auth", "bot/graph", "cards"},
    "bot/sandbox": set(),
    "bot/settings": set(),
    "bot/teams": {
        "bot/core",
        "cards",
        "bot/graph",
        "bot/storage",
        "bot/auth",
        "bot/usecases",
        "bot/sandbox",
        "bot/settings",
    },
    # Start-up errors (a bad signing key, an unusable store) are told in one line.
    "bot/cli": {"bot/settings", "bot/teams", "bot/auth", "bot/storage"},
}


def package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "cards":
        return "cards"
    if parts[0] == "bot" and len(parts) > 1:
        return f"bot/{parts[1]}"
    return None


def imports() -> dict[Path, set[str]]:
    """Every module of bot/ and cards/ and the modules it imports (nested imports too)."""
    found: dict[Path, set[str]] = {}
    for path in sorted(
        [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("cards").rglob("*.py")]
    ):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[path.relative_to(ROOT)] = names
    return found


def test_every_package_imports_only_what_it_may() -> None:
    wrong: dict[str, set[str]] = defaultdict(set)
    for path, names in imports().items():
        parts = path.with_suffix("").parts
        source = package_of(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        if source is None:  # bot/__init__.py
            assert names == set(), f"{path} imports {names}"
            continue
        assert source in ALLOWED, f"{path} is in a package docs/ARCHITECTURE.md does not list"
        for name in names:
            target = package_of(name)
            if target is not None and target != source and target not in ALLOWED[source]:
                wrong[str(path)].add(name)
    assert dict(wrong) == {}


def test_botbuilder_is_imported_at_the_edge_only_by_at_most_six_files() -> None:
    hosts = {
        str(path)
        for path, names in imports().items()
        if any(name.split(".")[0] in HOST for name in names)
    }
    assert all(path.startswith("bot/teams/") for path in hosts), hosts
    assert 0 < len(hosts) <= 6
