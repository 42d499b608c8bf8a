"""The Storage contract every MeetBot store meets, run against each kind in `STORE_KINDS`."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from botbuilder.core import StoreItem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.storage import ClosableStorage, ConflictError, Records, StorageError

_example_ids = itertools.count()


async def test_reading_missing_keys_returns_nothing(store: ClosableStorage) -> None:
    assert await store.read(["missing", "also/missing"]) == {}
    assert await store.read([]) == {}
    assert await store.read(None) == {}


async def test_dict_round_trip_comes_back_as_a_dict_with_its_etag(store: ClosableStorage) -> None:
    await store.write({"conv/1": {"topic": "Weekly", "attendees": ["a", "b"], "n": {"x": 1.5}}})

    item = (await store.read(["conv/1"]))["conv/1"]

    assert type(item) is dict
    etag = item.pop("e_tag")
    assert isinstance(etag, str)
    assert etag
    assert item == {"topic": "Weekly", "attendees": ["a", "b"], "n": {"x": 1.5}}


async def test_store_item_round_trip_comes_back_as_a_store_item(store: ClosableStorage) -> None:
    await store.write({"item": StoreItem(name="standup", count=3)})

    item = (await store.read(["item"]))["item"]

    assert type(item) is StoreItem
    assert (item.name, item.count) == ("standup", 3)
    assert isinstance(item.e_tag, str)


async def test_read_returns_copies_the_caller_cannot_change(store: ClosableStorage) -> None:
    await store.write({"k": {"list": [1]}})
    first = (await store.read(["k"]))["k"]
    first["list"].append(2)

    assert (await store.read(["k"]))["k"]["list"] == [1]


async def test_every_write_gets_a_new_etag_set_on_the_written_value(
    store: ClosableStorage,
) -> None:
    value = {"v": 1}
    await store.write({"k": value})
    first = (await store.read(["k"]))["k"]["e_tag"]
    assert value["e_tag"] == first

    await store.write({"k": {"v": 2}})

    assert (await store.read(["k"]))["k"]["e_tag"] != first


async def test_delete_removes_keys_and_ignores_missing_ones(store: ClosableStorage) -> None:
    await store.write({"a": {"v": 1}, "b": {"v": 2}})

    await store.delete(["a", "never-written"])

    assert set(await store.read(["a", "b"])) == {"b"}


async def test_write_with_the_current_etag_succeeds(store: ClosableStorage) -> None:
    await store.write({"k": {"v": 1}})
    current = (await store.read(["k"]))["k"]
    current["v"] = 2

    await store.write({"k": current})

    assert (await store.read(["k"]))["k"]["v"] == 2


async def test_write_with_a_stale_etag_conflicts_and_keeps_the_stored_value(
    store: ClosableStorage,
) -> None:
    await store.write({"k": {"v": 1}})
    stale = (await store.read(["k"]))["k"]
    await store.write({"k": {"v": 2, "e_tag": stale["e_tag"]}})

    with pytest.raises(ConflictError) as raised:
        await store.write({"k": {"v": 3, "e_tag": stale["e_tag"]}})

    # botbuilder's own code (TeamsSSOTokenExchangeMiddleware) recognises conflicts this way.
    assert isinstance(raised.value, KeyError)
    assert "Etag conflict" in str(raised.value)
    assert raised.value.key == "k"
    assert (await store.read(["k"]))["k"]["v"] == 2


async def test_stale_etag_on_a_store_item_conflicts(store: ClosableStorage) -> None:
    await store.write({"k": StoreItem(v=1)})
    stale = (await store.read(["k"]))["k"]
    await store.write({"k": StoreItem(v=2, e_tag=stale.e_tag)})

    with pytest.raises(ConflictError):
        await store.write({"k": StoreItem(v=3, e_tag=stale.e_tag)})


@pytest.mark.parametrize("etag", ["*", None])
async def test_star_or_no_etag_overwrites(store: ClosableStorage, etag: str | None) -> None:
    await store.write({"k": {"v": 1}})
    await store.write({"k": {"v": 2}})

    await store.write({"k": {"v": 3, "e_tag": etag}})

    assert (await store.read(["k"]))["k"]["v"] == 3


async def test_any_etag_is_accepted_for_a_key_that_does_not_exist(store: ClosableStorage) -> None:
    await store.write({"fresh": {"v": 1, "e_tag": "chosen-by-caller"}})

    stored = (await store.read(["fresh"]))["fresh"]
    assert stored["v"] == 1
    assert stored["e_tag"] != "chosen-by-caller"


async def test_an_empty_etag_is_rejected(store: ClosableStorage) -> None:
    with pytest.raises(ValueError, match="e_tag"):
        await store.write({"k": {"e_tag": ""}})


async def test_writing_none_is_rejected(store: ClosableStorage) -> None:
    with pytest.raises(ValueError, match="Changes are required"):
        await store.write(None)


async def test_a_write_of_several_keys_is_all_or_nothing(store: ClosableStorage) -> None:
    await store.write({"old": {"v": 1}})
    stale = (await store.read(["old"]))["old"]["e_tag"]
    await store.write({"old": {"v": 2}})

    with pytest.raises(ConflictError):
        await store.write({"new": {"v": 1}, "old": {"v": 3, "e_tag": stale}})

    assert await store.read(["new"]) == {}
    assert (await store.read(["old"]))["old"]["v"] == 2


async def test_of_twenty_concurrent_writers_with_the_same_etag_exactly_one_wins(
    store: ClosableStorage,
) -> None:
    await store.write({"k": {"writer": None}})
    etag = (await store.read(["k"]))["k"]["e_tag"]

    outcomes = await asyncio.gather(
        *(store.write({"k": {"writer": i, "e_tag": etag}}) for i in range(20)),
        return_exceptions=True,
    )

    winners = [i for i, outcome in enumerate(outcomes) if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(o, ConflictError) for o in outcomes if o is not None)
    assert (await store.read(["k"]))["k"]["writer"] == winners[0]


async def test_sso_dedup_pattern_lets_exactly_one_duplicate_through(
    store: ClosableStorage,
) -> None:
    # TeamsSSOTokenExchangeMiddleware writes a StoreItem whose e_tag is the exchange id.
    key = "msteams/conv/exchange-1"
    outcomes = await asyncio.gather(
        *(store.write({key: StoreItem(e_tag="exchange-1")}) for _ in range(3)),
        return_exceptions=True,
    )

    assert sum(outcome is None for outcome in outcomes) == 1


async def test_records_create_is_exactly_once_under_concurrency(store: ClosableStorage) -> None:
    records = Records(store, namespace="pending")

    created = await asyncio.gather(*(records.create("req-1", {"by": i}) for i in range(20)))

    assert created.count(True) == 1
    value, etag = await records.get("req-1")
    assert value == {"by": created.index(True)}
    assert etag is not None


async def test_records_update_creates_then_changes_the_record(store: ClosableStorage) -> None:
    records = Records(store, namespace="ledger")

    await records.update("c", lambda record: {"n": (record or {}).get("n", 0) + 1})
    await records.update("c", lambda record: {"n": (record or {}).get("n", 0) + 1})

    assert (await records.get("c"))[0] == {"n": 2}


async def test_concurrent_record_updates_are_all_applied(store: ClosableStorage) -> None:
    records = Records(store, namespace="ledger")

    def append(item: int) -> Callable[[dict[str, Any] | None], dict[str, Any]]:
        return lambda record: {"items": [*(record or {}).get("items", []), item]}

    # Fewer than UPDATE_ATTEMPTS writers: each gets its turn within the retries.
    await asyncio.gather(*(records.update("c", append(i)) for i in range(4)))

    value, _ = await records.get("c")
    assert value is not None
    assert sorted(value["items"]) == [0, 1, 2, 3]


async def test_a_record_update_that_returns_no_json_object_is_refused(
    store: ClosableStorage,
) -> None:
    records = Records(store, namespace="ledger")
    await records.put("c", {"n": 1})

    with pytest.raises(TypeError):
        await records.update("c", lambda _record: {"n": {1, 2}})

    assert (await records.get("c"))[0] == {"n": 1}


async def test_a_failing_update_among_concurrent_ones_fails_alone(store: ClosableStorage) -> None:
    records = Records(store, namespace="ledger")

    def bad(_record: dict[str, Any] | None) -> dict[str, Any]:
        raise ValueError("no")

    outcomes = await asyncio.gather(
        records.update("a", lambda _record: {"n": 1}),
        records.update("b", bad),
        records.update("c", lambda _record: {"n": 3}),
        return_exceptions=True,
    )

    assert outcomes[0] is None
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] is None
    assert [(await records.get(key))[0] for key in "abc"] == [{"n": 1}, None, {"n": 3}]


async def test_concurrent_operations_of_every_kind_succeed_or_fail_each_on_its_own(
    store: ClosableStorage,
) -> None:
    await store.write({"old": {"v": 0}, "doomed": {"v": 0}, "stale": {"v": 0}})
    stale_etag = (await store.read(["stale"]))["stale"]["e_tag"]
    await store.write({"stale": {"v": 1}})

    outcomes = await asyncio.gather(
        store.read(["old"]),
        store.write({"new": {"v": 1}}),
        # A write of several keys is all or nothing: its conflict undoes "half".
        store.write({"half": {"v": 1}, "stale": {"v": 2, "e_tag": stale_etag}}),
        store.update("counted", lambda item: {"n": 1 if item is None else item["n"] + 1}),
        store.delete(["doomed"]),
        store.keys("ol"),
        return_exceptions=True,
    )

    assert outcomes[0]["old"]["v"] == 0
    assert outcomes[1] is None
    assert isinstance(outcomes[2], ConflictError)
    assert outcomes[3] is None
    assert outcomes[4] is None
    assert outcomes[5] == ["old"]
    after = await store.read(["new", "half", "stale", "counted", "doomed"])
    assert {key: value.get("v", value.get("n")) for key, value in after.items()} == {
        "new": 1,
        "stale": 1,
        "counted": 1,
    }


async def test_records_create_after_delete_creates_again(store: ClosableStorage) -> None:
    records = Records(store, namespace="pending")
    assert await records.create("req", {"n": 1})
    assert not await records.create("req", {"n": 2})

    await records.delete("req")

    assert await records.create("req", {"n": 3})
    assert (await records.get("req"))[0] == {"n": 3}


async def test_records_put_is_conditional_on_the_etag(store: ClosableStorage) -> None:
    records = Records(store, namespace="ledger")
    assert await records.get("meeting") == (None, None)

    await records.put("meeting", {"v": 1})
    value, etag = await records.get("meeting")
    assert value == {"v": 1}
    await records.put("meeting", {"v": 2}, etag=etag)

    with pytest.raises(ConflictError):
        await records.put("meeting", {"v": 3}, etag=etag)
    await records.put("meeting", {"v": 4})

    assert (await records.get("meeting"))[0] == {"v": 4}
    await records.delete("meeting")
    assert await records.get("meeting") == (None, None)


async def test_records_keep_to_their_namespace(store: ClosableStorage) -> None:
    await Records(store, namespace="a").put("k", {"from": "a"})

    assert await Records(store, namespace="b").get("k") == (None, None)
    assert set(await store.read(["a/k"])) == {"a/k"}


async def test_a_record_changed_after_it_was_put_stays_as_it_was_put(
    store: ClosableStorage,
) -> None:
    records = Records(store, namespace="r")
    value: dict[str, Any] = {"meetings": [{"subject": "A"}]}
    writing = asyncio.ensure_future(records.put("k", value))
    await asyncio.sleep(0)  # the store has begun the write
    value["meetings"].append({"subject": "B"})
    await writing

    assert (await records.get("k"))[0] == {"meetings": [{"subject": "A"}]}


async def test_records_accept_only_json_objects(store: ClosableStorage) -> None:
    records = Records(store, namespace="r")

    with pytest.raises(TypeError):
        await records.put("k", {"when": object()})
    with pytest.raises(TypeError):
        await records.put("k", ["not", "an", "object"])  # type: ignore[arg-type]
    # What jsonpickle would store as something else: its own tags, sets, NaN, a shared list.
    shared: list[int] = []
    for value in ({"py/object": "x"}, {"s": {1}}, {"n": float("nan")}, {"a": shared, "b": shared}):
        with pytest.raises(TypeError):
            await records.put("k", value)
    assert await records.get("k") == (None, None)


@pytest.mark.parametrize(
    "key",
    [
        "msteams/conversations/19:abc@thread.tacv2;messageid=1/",
        "ünïcødé/🙂/日本語:キー",
        "spaces and\ttabs\nand newlines",
        "nul\x00inside",
        "",
        "k" * 100_000,
    ],
    ids=["botbuilder-shape", "unicode", "whitespace", "nul", "empty", "100k-chars"],
)
async def test_any_string_is_a_key(store: ClosableStorage, key: str) -> None:
    await store.write({key: {"key": key}})

    assert (await store.read([key]))[key]["key"] == key
    await store.delete([key])
    assert await store.read([key]) == {}


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    # One store serves every example; each example uses its own key prefix.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(keys=st.lists(st.text(max_size=50), min_size=1, max_size=8, unique=True))
async def test_distinct_keys_stay_distinct(store: ClosableStorage, keys: list[str]) -> None:
    prefix = f"{next(_example_ids)}|"
    await store.write({prefix + key: {"key": key} for key in keys})

    found = await store.read([prefix + key for key in keys])

    assert {k: v["key"] for k, v in found.items()} == {prefix + key: key for key in keys}


async def test_keys_must_be_valid_unicode_strings(store: ClosableStorage) -> None:
    with pytest.raises(ValueError, match="not valid Unicode"):
        await store.write({"lone\ud800surrogate": {"v": 1}})
    with pytest.raises(TypeError):
        await store.read([42])  # type: ignore[list-item]


async def test_a_closed_store_refuses_work_and_closes_twice(store: ClosableStorage) -> None:
    await store.close()
    await store.close()

    with pytest.raises(StorageError):
        await store.read(["k"])
    with pytest.raises(StorageError):
        await store.write({"k": {"v": 1}})


async def test_keys_lists_a_prefix_in_order_without_its_neighbours(store: ClosableStorage) -> None:
    names = ["due/10/0000000002/b", "due/10/0000000001/a", "due/11/0000000001/c", "due/1", "dux"]
    await store.write({name: {"n": i} for i, name in enumerate(names)})

    assert await store.keys("due/10/") == ["due/10/0000000001/a", "due/10/0000000002/b"]
    assert await store.keys("due/1") == [
        "due/1",
        "due/10/0000000001/a",
        "due/10/0000000002/b",
        "due/11/0000000001/c",
    ]
    assert await store.keys("nothing/") == []
    await store.delete(["due/10/0000000001/a"])
    assert await store.keys("due/10/") == ["due/10/0000000002/b"]


async def test_records_list_their_own_namespace_only(store: ClosableStorage) -> None:
    mine, theirs = Records(store, namespace="meetbot"), Records(store, namespace="other")
    await mine.put("reminders-due/1/x", {})
    await theirs.put("reminders-due/1/y", {})

    assert await mine.keys("reminders-due/1/") == ["reminders-due/1/x"]
