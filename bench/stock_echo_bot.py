"""The stock Bot Framework echo bot, built the way Microsoft's Python samples build it."""

# Kept deliberately close to BotBuilder-Samples 02.echo-bot (app.py, bots/echo_bot.py, config.py)
# so the benchmark baseline is what a team gets out of the box; only the port/host handling
# differs (loopback only, port from argv or $PORT).

import os
import sys
import traceback
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.web import Request, Response
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
from botbuilder.core.integration import aiohttp_error_middleware
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount

DEFAULT_PORT = 3978


class DefaultConfig:
    """Bot configuration with authentication disabled (empty app id and password)."""

    PORT = DEFAULT_PORT
    APP_ID = ""
    APP_PASSWORD = ""


class EchoBot(ActivityHandler):  # type: ignore[misc]
    """Echoes every message back, as in the sample."""

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        for member in members_added:
            if member.id != turn_context.activity.recipient.id:
                await turn_context.send_activity("Hello and welcome!")

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))


async def on_error(context: TurnContext, error: Exception) -> None:
    """The sample's catch-all turn error handler."""
    print(f"\n [on_turn_error] unhandled error: {error}", file=sys.stderr)
    traceback.print_exc()
    await context.send_activity("The bot encountered an error or bug.")
    await context.send_activity("To continue to run this bot, please fix the bot source code.")
    if context.activity.channel_id == "emulator":
        trace_activity = Activity(
            label="TurnError",
            name="on_turn_error Trace",
            timestamp=datetime.now(UTC),
            type=ActivityTypes.trace,
            value=f"{error}",
            value_type="https://www.botframework.com/schemas/error",
        )
        await context.send_activity(trace_activity)


CONFIG = DefaultConfig()
ADAPTER = CloudAdapter(ConfigurationBotFrameworkAuthentication(CONFIG))
ADAPTER.on_turn_error = on_error
BOT = EchoBot()


async def messages(req: Request) -> Response:
    """Main bot message handler."""
    response: Response = await ADAPTER.process(req, BOT)
    return response


def create_app() -> web.Application:
    """Build the aiohttp application exactly as the sample does."""
    app = web.Application(middlewares=[aiohttp_error_middleware])
    app.router.add_post("/api/messages", messages)
    return app


def port_from(argv: list[str]) -> int:
    """Port from the first argument, else $PORT, else the sample's 3978."""
    if len(argv) > 1:
        return int(argv[1])
    return int(os.environ.get("PORT", str(DEFAULT_PORT)))


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=port_from(sys.argv))
