"""The background warm-up of the other languages: no cyclic collections while it builds."""

from __future__ import annotations

import gc
from collections.abc import Sequence

import pytest

from bot import web


class Node:
    """An object the cyclic collector tracks."""

    def __init__(self) -> None:
        self.children: list[Node] = []


def test_it_builds_with_the_collector_off_and_freezes_what_it_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[Node] = []
    seen: list[bool] = []

    def warm_up(cultures: Sequence[str]) -> None:
        seen.append(gc.isenabled())
        built.extend(Node() for _ in range(50_000))

    monkeypatch.setattr(web, "warm_up", warm_up)
    collections_before = sum(stat["collections"] for stat in gc.get_stats())
    frozen_before = gc.get_freeze_count()
    web._warm_up_uncollected(["es-es"])
    assert seen == [False]
    assert gc.isenabled()
    assert sum(stat["collections"] for stat in gc.get_stats()) == collections_before
    assert gc.get_freeze_count() >= frozen_before + len(built)


def test_the_collector_is_back_on_when_it_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def warm_up(cultures: Sequence[str]) -> None:
        raise RuntimeError("model missing")

    monkeypatch.setattr(web, "warm_up", warm_up)
    with pytest.raises(RuntimeError):
        web._warm_up_uncollected(["fr-fr"])
    assert gc.isenabled()
