"""Turns the text a user typed into a command name and its arguments (pure, no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class CommandName(StrEnum):
    MEET = "meet"
    LIST = "list"
    SIGNOUT = "signout"
    CANCEL = "cancel"
    HELP = "help"
    UNKNOWN = "unknown"


_ALIASES: dict[str, CommandName] = {
    "meet": CommandName.MEET,
    "meeting": CommandName.MEET,
    "list": CommandName.LIST,
    "meetings": CommandName.LIST,
    "signout": CommandName.SIGNOUT,
    "logout": CommandName.SIGNOUT,
    "sign-out": CommandName.SIGNOUT,
    "log-out": CommandName.SIGNOUT,
    "cancel": CommandName.CANCEL,
    "help": CommandName.HELP,
    "?": CommandName.HELP,
    "hi": CommandName.HELP,
    "hello": CommandName.HELP,
    "start": CommandName.HELP,
}

# Teams pads mentions with non-breaking spaces and may leave zero-width characters behind.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Command:
    """What the user asked for: the command, the rest of the text, and the word they typed."""

    name: CommandName
    args: str
    word: str


def normalise(text: str) -> str:
    """Collapse whitespace, drop invisible characters and a leading slash."""
    text = _SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()
    return text[1:].lstrip() if text.startswith("/") else text


def parse_command(text: str) -> Command:
    text = normalise(text)
    word, _, args = text.partition(" ")
    name = _ALIASES.get(word.lower().rstrip("!.:,"), CommandName.UNKNOWN)
    return Command(name=name, args=args.strip(), word=word)
