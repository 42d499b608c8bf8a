"""Settings: local versus production defaults, explicit seams win, bad values name the variable."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.settings import Settings


def make(**env: Any) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


def test_local_mode_points_the_seams_at_the_embedded_sandbox() -> None:
    settings = make(MicrosoftAppId="", PORT=4000)
    assert settings.local_mode
    assert settings.bind_host == "127.0.0.1"
    assert settings.resolved_graph_base_url == "http://127.0.0.1:4000/sandbox/graph/v1.0"
    assert settings.resolved_oauth_url == "http://127.0.0.1:4000/sandbox/token"


def test_production_defaults_to_microsoft_endpoints() -> None:
    settings = make(MicrosoftAppId="app", MicrosoftAppPassword="pw")
    assert not settings.local_mode
    assert settings.bind_host == "0.0.0.0"
    assert settings.resolved_graph_base_url == "https://graph.microsoft.com/v1.0"
    assert settings.resolved_oauth_url == "https://api.botframework.com"


@pytest.mark.parametrize("app_id", ["", "app"])
def test_explicit_urls_win_in_both_modes(app_id: str) -> None:
    settings = make(
        MicrosoftAppId=app_id,
        MicrosoftAppPassword="pw",
        GRAPH_BASE_URL="https://graph.microsoft.us/v1.0/",
        OAUTH_URL="http://127.0.0.1:9/tokens",
    )
    assert settings.resolved_graph_base_url == "https://graph.microsoft.us/v1.0"
    assert settings.resolved_oauth_url == "http://127.0.0.1:9/tokens"


def test_government_channel_service_uses_the_government_token_service() -> None:
    settings = make(
        MicrosoftAppId="app",
        MicrosoftAppPassword="pw",
        CHANNEL_SERVICE="https://botframework.azure.us",
    )
    assert settings.resolved_oauth_url == "https://api.botframework.azure.us"


def test_secrets_are_not_printed() -> None:
    settings = make(MicrosoftAppId="app", MicrosoftAppPassword="hunter2-secret")
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, "DEFAULT_TIMEZONE"),
        ({"GRAPH_BASE_URL": "graph.microsoft.com"}, "GRAPH_BASE_URL"),
        ({"MicrosoftAppType": "Anything"}, "MicrosoftAppType"),
        ({"MicrosoftAppId": "app"}, "MicrosoftAppPassword"),
        (
            {
                "MicrosoftAppId": "app",
                "MicrosoftAppPassword": "p",
                "MicrosoftAppType": "SingleTenant",
            },
            "MicrosoftAppTenantId",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make(**env)
    assert variable in str(caught.value)


@pytest.mark.slow  # starts app.py in a subprocess
def test_the_cli_exits_with_the_variable_named_and_no_secret_echoed() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "MicrosoftAppId": "app",
        "MicrosoftAppPassword": "hunter2-secret",
        "PORT": "not-a-port",
    }
    result = subprocess.run(
        [sys.executable, "app.py"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "PORT" in result.stderr
    assert "hunter2-secret" not in result.stderr + result.stdout


def test_env_example_and_the_readme_name_every_setting_and_load() -> None:
    """A new user copies .env.example: it must hold every setting the README's table lists
    (and Settings reads), and load as it is."""
    root = Path(__file__).resolve().parent.parent
    example = root / ".env.example"
    named = {
        line.split("=", 1)[0]
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    }
    read = {
        field.validation_alias
        for field in Settings.model_fields.values()
        if isinstance(field.validation_alias, str)
    }
    table = set(re.findall(r"`([A-Za-z_]+)`", _configuration_table(root / "README.md")))
    assert read <= named, sorted(read - named)
    assert read <= table, sorted(read - table)
    assert named <= read, sorted(named - read)
    Settings(_env_file=str(example))  # type: ignore[call-arg]


def _configuration_table(readme: Path) -> str:
    text = readme.read_text()
    start = text.index("| variable | meaning | default |")
    return text[start : text.index("\n\n", start)].split("\n", 2)[2]
