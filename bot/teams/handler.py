"""The Teams activity handler: it only routes each activity to one use case."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import ChannelAccount

from bot.core.commands import Command, CommandName, parse_command
from bot.core.managed import CREATE_AGAIN, MANAGE_ACTIONS
from bot.core.ports import Message, Turn
from bot.teams.turns import Turns, invoke_response
from bot.usecases.forms import FORM_ACTION, FormFlows
from bot.usecases.manage import ManageMeetings
from bot.usecases.meetings import RETRY_ACTION, Meetings, is_magic_code
from cards.elements import plain
from cards.help import HELP_ACTION, NEW_MEETING_ACTION, help_card, welcome_card

_log = logging.getLogger(__name__)

CommandHandler = Callable[[Turn, Command], Awaitable[None]]

MAX_ECHO = 40


class MeetBot(TeamsActivityHandler):  # type: ignore[misc]
    """Routes messages to commands and card buttons to the same commands."""

    def __init__(
        self,
        turns: Turns,
        meetings: Meetings | None = None,
        forms: FormFlows | None = None,
        manage: ManageMeetings | None = None,
    ) -> None:
        super().__init__()
        self._turns = turns
        self._meetings = meetings
        self._forms = forms
        self._manage = manage
        self._commands: dict[CommandName, CommandHandler] = {
            CommandName.HELP: self._help,
            CommandName.UNKNOWN: self._unknown,
        }
        if meetings is not None:
            self._commands[CommandName.MEET] = self._meet
            self._commands[CommandName.LIST] = meetings.on_list
            self._commands[CommandName.SIGNOUT] = meetings.on_signout
        if manage is not None:
            self._commands[CommandName.CANCEL] = manage.on_cancel

    def register(self, name: CommandName, handler: CommandHandler) -> None:
        """Later capabilities plug their command in here."""
        self._commands[name] = handler

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        turn = self._turns.of(turn_context)
        if isinstance(activity.value, dict) and not activity.text:
            await self._on_card_submit(turn, activity.value)
            return
        text = activity.text if isinstance(activity.text, str) else ""
        if activity.entities:
            text = TurnContext.remove_recipient_mention(activity) or ""
        if self._meetings is not None and is_magic_code(text):
            await self._meetings.on_magic_code(turn, text.strip())
            return
        await self.dispatch(turn, parse_command(text))

    async def _meet(self, turn: Turn, command: Command) -> None:
        if command.args or self._forms is None:
            assert self._meetings is not None
            await self._meetings.on_meet(turn, command)
        else:
            await self._forms.show(turn)

    async def dispatch(self, turn: Turn, command: Command) -> None:
        handler = self._commands.get(command.name, self._unknown)
        await handler(turn, command)

    async def _on_card_submit(self, turn: Turn, value: dict[str, Any]) -> None:
        action = value.get("meetbot")
        if action == NEW_MEETING_ACTION:
            await self.dispatch(turn, Command(CommandName.MEET, "", "meet"))
        elif action == HELP_ACTION:
            await self.dispatch(turn, Command(CommandName.HELP, "", "help"))
        elif action == RETRY_ACTION and self._meetings is not None:
            await self._meetings.on_retry(turn, value)
        elif action == FORM_ACTION and self._forms is not None:
            await self._forms.on_submit(turn, value)
        elif action in (*MANAGE_ACTIONS, CREATE_AGAIN) and self._manage is not None:
            await self._manage.on_submit(turn, str(action), value)
        else:
            await turn.conversation.send(
                Message(
                    text="That button is from a card I no longer understand. "
                    "Type **help** to start again."
                )
            )

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        name = turn_context.activity.name
        value = turn_context.activity.value
        if name == "healthCheck":
            response: InvokeResponse | None = await super().on_invoke_activity(turn_context)
            return response
        turn = self._turns.of(turn_context)
        if self._meetings is not None:
            if name == "signin/verifyState":
                return invoke_response(await self._meetings.on_verify_state(turn, value))
            if name == "signin/tokenExchange":
                return invoke_response(await self._meetings.on_token_exchange(turn, value))
        if self._manage is not None and name == "adaptiveCard/action":
            action = value.get("action") if isinstance(value, dict) else None
            verb = action.get("verb") if isinstance(action, dict) else None
            data = action.get("data") if isinstance(action, dict) else None
            if verb in (*MANAGE_ACTIONS, CREATE_AGAIN):
                data = data if isinstance(data, dict) else {}
                return invoke_response(await self._manage.on_execute(turn, str(verb), data))
        if self._forms is not None:
            if name == "adaptiveCard/action":
                answer = await self._forms.on_execute(turn, value)
                if answer is not None:
                    return invoke_response(answer)
            elif name == "composeExtension/fetchTask":
                return invoke_response(await self._forms.on_fetch_task(turn, value))
            elif name == "composeExtension/submitAction":
                return invoke_response(await self._forms.on_submit_action(turn, value))
        if name == "signin/failure":
            # Teams could not get an SSO token: usually a wrong app id URI or token exchange URL.
            _log.warning("Teams reported signin/failure: %s", value)
            await turn.conversation.send(
                Message(text="Single sign-on failed, so please use the **Sign in** button instead.")
            )
            return InvokeResponse(status=200, body={})
        # botbuilder would only deserialise these (raising on a malformed value) to answer 501.
        return InvokeResponse(status=int(HTTPStatus.NOT_IMPLEMENTED))

    async def on_token_response_event(self, turn_context: TurnContext) -> None:
        if self._meetings is not None:
            turn = self._turns.of(turn_context)
            await self._meetings.on_token_response(turn, turn_context.activity.value)

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        bot_added = any(member.id == bot_id for member in members_added)
        personal = (activity.conversation.conversation_type or "personal") == "personal"
        # In a team or group chat every new member would trigger this: greet only on install.
        if bot_added or (personal and members_added):
            turn = self._turns.of(turn_context)
            await turn.conversation.send(Message.of_card(welcome_card()))

    async def _help(self, turn: Turn, _command: Command) -> None:
        await turn.conversation.send(Message.of_card(help_card()))

    async def _unknown(self, turn: Turn, command: Command) -> None:
        if command.word:
            word = plain(command.word[:MAX_ECHO])
            text = f"I didn't understand “{word}”. "
        else:
            text = ""
        await turn.conversation.send(
            Message(
                text=text + "Try **meet Design review tomorrow at 3pm for 45 minutes**, "
                "or type **help** to see everything I can do."
            )
        )


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """Log the failure with its traceback; tell the user something went wrong, without details."""
    activity = turn_context.activity
    _log.exception(
        "turn failed: activity type=%s id=%s channel=%s",
        activity.type,
        activity.id,
        activity.channel_id,
        exc_info=error,
    )
    if activity.type == "invoke":
        return
    try:
        await turn_context.send_activity(
            "Sorry, something went wrong on my side. Please try again in a moment."
        )
    except Exception:
        _log.warning("could not tell the user about the failed turn", exc_info=True)
