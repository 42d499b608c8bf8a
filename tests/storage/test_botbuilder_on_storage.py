"""botbuilder components on MeetBot's stores: ConversationState and the SSO exchange dedup."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import ConversationState, MemoryStorage, Storage, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.core.teams import TeamsSSOTokenExchangeMiddleware
from botbuilder.dialogs import DialogInstance, DialogState
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    SignInConstants,
)
from botframework.connector import Channels

from bot.storage import ClosableStorage, ConflictError, SqliteStorage

CONNECTION_NAME = "graph"


def _message_context(adapter: TestAdapter) -> TurnContext:
    return TurnContext(
        adapter,
        Activity(
            type=ActivityTypes.message,
            channel_id=Channels.ms_teams,
            conversation=ConversationAccount(id="19:meeting@thread.v2"),
            from_property=ChannelAccount(id="user-1"),
            recipient=ChannelAccount(id="bot"),
            text="hi",
        ),
    )


async def test_conversation_state_round_trips_through_a_fresh_storage(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    expires = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    async with SqliteStorage(database) as storage:
        state = ConversationState(storage)
        count = state.create_property("count")
        dialogs = state.create_property("DialogState")
        context = _message_context(TestAdapter())
        await state.load(context)
        assert await count.get(context, lambda: 0) == 0
        await count.set(context, 1)
        await dialogs.set(
            context, DialogState([DialogInstance(id="signin", state={"expires": expires})])
        )
        await state.save_changes(context)
        # A second change in the same turn saves too: the write refreshed the state's eTag.
        await count.set(context, 2)
        await state.save_changes(context)

    async with SqliteStorage(database) as fresh_storage:
        state = ConversationState(fresh_storage)
        context = _message_context(TestAdapter())
        await state.load(context)

        assert await state.create_property("count").get(context) == 2
        restored = await state.create_property("DialogState").get(context)
        assert isinstance(restored, DialogState)
        assert restored.dialog_stack[0].state == {"expires": expires}


async def test_concurrent_turns_saving_one_conversation_conflict(store: ClosableStorage) -> None:
    # Optimistic concurrency, as with botbuilder-azure's stores: the later save is refused.
    state = ConversationState(store)
    prime = _message_context(TestAdapter())
    await state.create_property("count").set(prime, 0)
    await state.save_changes(prime)
    first, second = _message_context(TestAdapter()), _message_context(TestAdapter())
    await state.load(first)
    await state.load(second)

    await state.create_property("count").set(first, 1)
    await state.save_changes(first)
    await state.create_property("count").set(second, 2)
    with pytest.raises(ConflictError):
        await state.save_changes(second)


async def _run_duplicate_token_exchanges(storage: Storage, count: int) -> tuple[int, list[Any]]:
    """Send `count` identical signin/tokenExchange invokes through the middleware at once.

    Returns how many reached the bot's logic, and the invoke responses of those that didn't.
    """
    adapter = TestAdapter()
    adapter.add_exchangeable_token(
        CONNECTION_NAME, Channels.ms_teams, "user-1", "sso-token", "graph-token"
    )
    middleware = TeamsSSOTokenExchangeMiddleware(storage, CONNECTION_NAME)
    reached_logic = 0

    async def logic() -> None:
        nonlocal reached_logic
        reached_logic += 1

    contexts = [
        TurnContext(
            adapter,
            Activity(
                type=ActivityTypes.invoke,
                name=SignInConstants.token_exchange_operation_name,
                channel_id=Channels.ms_teams,
                conversation=ConversationAccount(id="19:chat@thread.v2"),
                from_property=ChannelAccount(id="user-1"),
                recipient=ChannelAccount(id="bot"),
                value={"id": "exchange-1", "connectionName": CONNECTION_NAME, "token": "sso-token"},
            ),
        )
        for _ in range(count)
    ]
    await asyncio.gather(*(middleware.on_turn(context, logic) for context in contexts))
    responses = [
        activity.value
        for activity in adapter.activity_buffer
        if activity.type == ActivityTypes.invoke_response
    ]
    return reached_logic, responses


async def test_sso_middleware_lets_one_of_three_duplicate_exchanges_through(
    store: ClosableStorage,
) -> None:
    reached_logic, responses = await _run_duplicate_token_exchanges(store, 3)

    assert reached_logic == 1
    assert [response.status for response in responses] == [200, 200]


async def test_botbuilder_memory_storage_lets_a_duplicate_exchange_through() -> None:
    # Why StrictMemoryStorage exists: MemoryStorage keeps the first write's caller-chosen
    # eTag, so the second duplicate matches it and proceeds. Fails if botbuilder fixes it.
    reached_logic, _responses = await _run_duplicate_token_exchanges(MemoryStorage(), 3)

    assert reached_logic == 2
