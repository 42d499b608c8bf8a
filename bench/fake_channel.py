"""A fake Bot Connector service that records every activity a bot sends back."""

import argparse
import asyncio
import contextlib
import itertools
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import web

HOST = "127.0.0.1"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True, slots=True)
class Reply:
    """One call a bot made to the connector API, reduced to what verification needs."""

    method: str
    conversation_id: str
    activity_id: str | None
    reply_to_id: str | None
    received_at: float
    activity_type: str | None
    text: str | None
    attachment_types: tuple[str, ...]
    # The first TextBlocks of the first Adaptive Card (a meeting card: status, subject).
    card_texts: tuple[str, ...] = ()

    @property
    def in_reply_to(self) -> str | None:
        """The inbound activity this answers: replyToId, else the id in the URL of a POST."""
        if self.reply_to_id:
            return self.reply_to_id
        return self.activity_id if self.method == "POST" else None


class FakeChannel:
    """Bot Connector REST endpoints (v3 conversations) that count what they receive."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._counts: Counter[tuple[str, str, str | None]] = Counter()
        self._arrived = asyncio.Event()
        self.replies: defaultdict[str, list[Reply]] = defaultdict(list)
        self.malformed = 0

    def count(self, conversation_ids: list[str], method: str, activity_type: str) -> int:
        """How many activities of this type arrived with this method in these conversations."""
        return sum(self._counts[cid, method, activity_type] for cid in conversation_ids)

    async def wait_for(
        self,
        conversation_ids: list[str],
        method: str,
        activity_type: str,
        expected: int,
        timeout_s: float,
    ) -> bool:
        """Wait for `expected` such activities (or the timeout); True if they came."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self.count(conversation_ids, method, activity_type) < expected:
                    self._arrived.clear()
                    await self._arrived.wait()
        return self.count(conversation_ids, method, activity_type) >= expected

    def routes(self) -> list[web.RouteDef]:
        """The connector routes plus a stats endpoint for standalone use."""
        base = "/v3/conversations/{conversation_id}/activities"
        return [
            web.post(base, self._on_activity),
            web.post(base + "/{activity_id}", self._on_activity),
            web.put(base + "/{activity_id}", self._on_activity),
            web.delete(base + "/{activity_id}", self._on_delete),
            web.get("/_bench/stats", self._on_stats),
        ]

    async def _on_activity(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self.malformed += 1
            return web.json_response({"error": "activity must be a JSON object"}, status=400)
        self._record(request, body)
        return web.json_response({"id": f"bench-{next(self._ids)}"})

    async def _on_delete(self, request: web.Request) -> web.Response:
        self._record(request, {})
        return web.Response(status=200)

    async def _on_stats(self, _request: web.Request) -> web.Response:
        per_method = Counter(r.method for replies in self.replies.values() for r in replies)
        stats = {
            "conversations": {cid: len(replies) for cid, replies in self.replies.items()},
            "methods": dict(per_method),
            "malformed": self.malformed,
        }
        return web.json_response(stats)

    def _record(self, request: web.Request, body: dict[str, Any]) -> None:
        conversation_id = request.match_info["conversation_id"]
        reply = Reply(
            method=request.method,
            conversation_id=conversation_id,
            activity_id=request.match_info.get("activity_id"),
            reply_to_id=_str_or_none(body.get("replyToId")),
            received_at=time.perf_counter(),
            activity_type=_str_or_none(body.get("type")),
            text=_str_or_none(body.get("text")),
            attachment_types=_attachment_types(body.get("attachments")),
            card_texts=_card_texts(body.get("attachments")),
        )
        self.replies[conversation_id].append(reply)
        self._counts[conversation_id, reply.method, reply.activity_type] += 1
        self._arrived.set()


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _attachment_types(attachments: object) -> tuple[str, ...]:
    if not isinstance(attachments, list):
        return ()
    return tuple(str(item.get("contentType")) for item in attachments if isinstance(item, dict))


def _card_texts(attachments: object, count: int = 2) -> tuple[str, ...]:
    if not isinstance(attachments, list) or not attachments:
        return ()
    first = attachments[0]
    content = first.get("content") if isinstance(first, dict) else None
    body = content.get("body") if isinstance(content, dict) else None
    if not isinstance(body, list):
        return ()
    texts = [item.get("text") for item in body[:count] if isinstance(item, dict)]
    return tuple(text for text in texts if isinstance(text, str))


def create_app(channel: FakeChannel) -> web.Application:
    """An aiohttp application serving the fake channel."""
    app = web.Application()
    app.add_routes(channel.routes())
    return app


async def start(channel: FakeChannel, port: int = 0) -> tuple[web.AppRunner, str]:
    """Serve the channel on loopback (port 0 picks a free one); returns the runner and URL."""
    # No access log: formatting a log line per reply would cost the shared harness process CPU.
    runner = web.AppRunner(create_app(channel), access_log=None, keepalive_timeout=75.0)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    return runner, f"http://{HOST}:{bound_port}"


def main() -> None:
    """Run the fake channel on its own, e.g. to point a bot at it by hand."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3980, help="loopback port (default 3980)")
    args = parser.parse_args()
    web.run_app(create_app(FakeChannel()), host=HOST, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
