"""Command parsing is pure: a table of what users type and what it means."""

from __future__ import annotations

import pytest

from bot.core.commands import CommandName, normalise, parse_command


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("help", CommandName.HELP, ""),
        ("HELP", CommandName.HELP, ""),
        ("/help", CommandName.HELP, ""),
        ("  / help  ", CommandName.HELP, ""),
        ("?", CommandName.HELP, ""),
        ("hi!", CommandName.HELP, ""),
        ("meet", CommandName.MEET, ""),
        ("meet Design review tomorrow at 3pm", CommandName.MEET, "Design review tomorrow at 3pm"),
        ("Meet   Budget\u00a0sync", CommandName.MEET, "Budget sync"),
        ("/meet now", CommandName.MEET, "now"),
        ("list", CommandName.LIST, ""),
        ("signout", CommandName.SIGNOUT, ""),
        ("logout", CommandName.SIGNOUT, ""),
        ("sign-out", CommandName.SIGNOUT, ""),
        ("dance", CommandName.UNKNOWN, ""),
        ("", CommandName.UNKNOWN, ""),
        ("meeting\u200b tomorrow", CommandName.MEET, "tomorrow"),
    ],
)
def test_parse_command(text: str, name: CommandName, args: str) -> None:
    command = parse_command(text)
    assert (command.name, command.args) == (name, args)


def test_normalise_keeps_the_words_and_drops_invisible_characters() -> None:
    assert normalise("\u202e meet \u200b x\t\ny ") == "meet x y"


def test_unknown_keeps_the_word_the_user_typed() -> None:
    assert parse_command("Dance now").word == "Dance"
