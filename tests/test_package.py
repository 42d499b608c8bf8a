"""The Teams app package: zip layout, app id placement, the official manifest schema, icons."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft6Validator, validators
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT4

from bot.cli.package import MANIFEST_DIR, PackageError, build_package, package_command

REPO = Path(__file__).resolve().parent.parent
TEAMS_SCHEMAS = REPO / "node_modules" / "@microsoft" / "app-manifest" / "build" / "json-schemas"
APP_ID = "5b0f3a1e-8c2d-4e6f-9a7b-1c2d3e4f5a6b"
SCHEMA_URL = re.compile(
    r"https://developer\.microsoft\.com/(?:[a-z]{2}-[a-z]{2}/)?json-schemas/teams/"
    r"(?P<dir>v[0-9.]+)/MicrosoftTeams\.schema\.json"
)

# The schemas are draft-04 but use draft-06's `const` (for manifestVersion); the official
# validator (ajv-draft-04) enforces it, so this one must too.
ManifestValidator = validators.extend(
    Draft4Validator, validators={"const": Draft6Validator.VALIDATORS["const"]}
)


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def manifest_of(path: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(read_zip(path)["manifest.json"])
    return manifest


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return build_package(APP_ID, tmp_path / "dist")


# --- the zip --------------------------------------------------------------------------------


def test_zip_holds_exactly_the_manifest_and_the_icons_at_its_root(package: Path) -> None:
    assert package.name == "appPackage.zip"
    with zipfile.ZipFile(package) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
    files = read_zip(package)
    assert files["color.png"] == (MANIFEST_DIR / "color.png").read_bytes()
    assert files["outline.png"] == (MANIFEST_DIR / "outline.png").read_bytes()


def test_same_inputs_give_byte_identical_packages(tmp_path: Path) -> None:
    first = build_package(APP_ID, tmp_path / "a", version="1.2.3", public_host="bot.contoso.com")
    template = shutil.copytree(MANIFEST_DIR, tmp_path / "template")
    for path in template.iterdir():
        os.utime(path, (2_000_000_000, 2_000_000_000))  # file times must not leak into the zip
    second = build_package(
        APP_ID,
        tmp_path / "b",
        version="1.2.3",
        public_host="bot.contoso.com",
        manifest_dir=template,
    )
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    other = build_package("0a0f3a1e-8c2d-4e6f-9a7b-1c2d3e4f5a6b", tmp_path / "c")
    assert other.read_bytes() != first.read_bytes()


def test_rebuilding_replaces_the_package_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    build_package(APP_ID, tmp_path, version="1.0.0")
    build_package(APP_ID, tmp_path, version="1.0.1")
    assert [p.name for p in tmp_path.iterdir()] == ["appPackage.zip"]
    assert manifest_of(tmp_path / "appPackage.zip")["version"] == "1.0.1"


# --- the app id -----------------------------------------------------------------------------


def test_the_app_id_is_filled_in_everywhere_it_belongs(package: Path) -> None:
    manifest = manifest_of(package)
    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["composeExtensions"][0]["botId"] == APP_ID
    assert manifest["webApplicationInfo"] == {"id": APP_ID, "resource": f"api://botid-{APP_ID}"}
    text = read_zip(package)["manifest.json"].decode()
    assert "{{" not in text
    assert text.count(APP_ID) == 5


def test_the_app_id_is_trimmed_and_lower_cased(tmp_path: Path) -> None:
    manifest = manifest_of(build_package(f"  {APP_ID.upper()}\n", tmp_path))
    assert manifest["id"] == APP_ID
    assert manifest["webApplicationInfo"]["resource"] == f"api://botid-{APP_ID}"


@pytest.mark.parametrize(
    "app_id",
    [
        "",
        "meetbot",
        APP_ID.replace("-", ""),
        "{" + APP_ID + "}",
        "urn:uuid:" + APP_ID,
        APP_ID[:-1] + "g",
        APP_ID + "0",
        "00000000-0000-0000-0000-000000000000",
    ],
)
def test_an_app_id_that_is_not_a_guid_is_refused(tmp_path: Path, app_id: str) -> None:
    with pytest.raises(PackageError, match="GUID"):
        build_package(app_id, tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


# --- the manifest's contents ----------------------------------------------------------------


def test_the_manifest_declares_the_bot_the_message_extension_and_sso(package: Path) -> None:
    manifest = manifest_of(package)
    assert manifest["developer"]["name"] == "MeetBot"
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert manifest["developer"][key].startswith("https://meetbot.example.com")
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    bot = manifest["bots"][0]
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert bot["supportsFiles"] is False
    assert bot["isNotificationOnly"] is False
    assert sorted(scope for entry in bot["commandLists"] for scope in entry["scopes"]) == sorted(
        bot["scopes"]
    )
    for entry in bot["commandLists"]:
        commands = {command["title"]: command["description"] for command in entry["commands"]}
        assert list(commands) == ["meet", "help", "list", "signout"]
        assert commands["meet"] == "Create a Teams meeting: meet Design review tomorrow at 3pm"
    (command,) = manifest["composeExtensions"][0]["commands"]
    assert command["id"] == "createMeeting"
    assert command["type"] == "action"
    assert command["title"] == "Create meeting"
    assert command["fetchTask"] is True
    assert command["context"] == ["message", "compose", "commandBox"]
    assert manifest["permissions"] == ["identity", "messageTeamMembers"]
    assert manifest["validDomains"] == ["token.botframework.com"]


def test_version_and_public_host_options(tmp_path: Path) -> None:
    manifest = manifest_of(
        build_package(
            APP_ID, tmp_path, version="2.10.0", public_host="https://Bot.Contoso.com/api/messages"
        )
    )
    assert manifest["version"] == "2.10.0"
    assert manifest["validDomains"] == ["token.botframework.com", "bot.contoso.com"]
    again = build_package(APP_ID, tmp_path, public_host="token.botframework.com")
    assert manifest_of(again)["validDomains"] == ["token.botframework.com"]


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "1.0.0-beta", "01.0.0", ""])
def test_a_version_that_is_not_major_minor_patch_is_refused(tmp_path: Path, version: str) -> None:
    with pytest.raises(PackageError, match=r"MAJOR\.MINOR\.PATCH"):
        build_package(APP_ID, tmp_path, version=version)


@pytest.mark.parametrize("host", ["", "https://", "bot contoso.com", "bot_1.contoso.com", "-a.com"])
def test_a_public_host_that_is_not_a_host_name_is_refused(tmp_path: Path, host: str) -> None:
    with pytest.raises(PackageError, match="host name"):
        build_package(APP_ID, tmp_path, public_host=host)


# --- the official schema --------------------------------------------------------------------


class _MissingSchemaBanner:
    """Repeats the skip reason in the terminal summary, where nobody can miss it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.section("Teams manifest schema not checked", sep="!", red=True, bold=True)
        terminalreporter.line(f"  {self.reason}", red=True)


@pytest.fixture(scope="module")
def teams_schemas(request: pytest.FixtureRequest) -> Path:
    """node_modules' official Teams schemas; skipped loudly (failed when CI=true) if absent."""
    teams = TEAMS_SCHEMAS / "teams"
    if teams.is_dir():
        return teams
    reason = (
        f"TEAMS MANIFEST SCHEMAS MISSING: {teams} does not exist; "
        "run `npm ci` in the repository (scripts/install-browser-deps.sh does)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    plugins = request.config.pluginmanager
    if not plugins.has_plugin("meetbot-missing-teams-schemas"):
        plugins.register(_MissingSchemaBanner(reason), "meetbot-missing-teams-schemas")
    pytest.skip(reason)


def _refuse_to_fetch(uri: str) -> Resource:
    raise NoSuchResource(ref=uri)  # offline: every schema must come from node_modules


def official_validator(manifest: dict[str, Any], teams_schemas: Path) -> Any:
    """A validator for the exact schema the manifest's `$schema` names, read from disk."""
    match = SCHEMA_URL.fullmatch(manifest["$schema"])
    assert match, f"$schema is not a Teams schema URL: {manifest['$schema']}"
    version_dir = teams_schemas / match["dir"]
    assert version_dir.is_dir(), f"@microsoft/app-manifest does not bundle {match['dir']}"
    registry: Registry[Any] = Registry(retrieve=_refuse_to_fetch)
    for path in sorted(version_dir.glob("*.json")):
        resource = Resource.from_contents(
            json.loads(path.read_text(encoding="utf-8")), default_specification=DRAFT4
        )
        for prefix in (
            "https://developer.microsoft.com/",
            "https://developer.microsoft.com/en-us/",
        ):
            registry = registry.with_resource(
                f"{prefix}json-schemas/teams/{match['dir']}/{path.name}", resource
            )
    schema = json.loads((version_dir / "MicrosoftTeams.schema.json").read_text(encoding="utf-8"))
    # Its patterns are ECMA-262 (`\p{L}`), which Python's `re` cannot compile: check the
    # schema's structure, not its regexes (none of them applies to MeetBot's manifest).
    ManifestValidator.check_schema(schema, format_checker=None)
    return ManifestValidator(
        schema, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER
    )


def schema_errors(manifest: dict[str, Any], teams_schemas: Path) -> list[str]:
    validator = official_validator(manifest, teams_schemas)
    return sorted(
        f"{error.json_path}: {error.message}" for error in validator.iter_errors(manifest)
    )


def test_the_manifest_is_valid_against_the_official_schema(
    tmp_path: Path, teams_schemas: Path
) -> None:
    manifest = manifest_of(build_package(APP_ID, tmp_path, public_host="bot.contoso.com"))
    assert int(manifest["manifestVersion"].split(".")[1]) >= 17
    assert manifest["$schema"] == (
        "https://developer.microsoft.com/en-us/json-schemas/teams/"
        f"v{manifest['manifestVersion']}/MicrosoftTeams.schema.json"
    )
    assert schema_errors(manifest, teams_schemas) == []


def test_the_schema_check_is_not_vacuous(package: Path, teams_schemas: Path) -> None:
    manifest = manifest_of(package)
    manifest["manifestVersion"] = "1.16"
    manifest["bots"][0]["botId"] = "not-a-guid"
    manifest["composeExtensions"][0]["commands"][0]["type"] = "button"
    del manifest["developer"]
    errors = schema_errors(manifest, teams_schemas)
    assert any(e.startswith("$.manifestVersion:") for e in errors), errors
    assert any(e.startswith("$.bots[0].botId:") for e in errors), errors
    assert any(e.startswith("$.composeExtensions[0].commands[0].type:") for e in errors), errors
    assert any("'developer' is a required property" in e for e in errors), errors


# --- the icons ------------------------------------------------------------------------------


@dataclass
class Png:
    width: int
    height: int
    bit_depth: int
    color_type: int
    interlace: int
    data: bytes  # the decompressed, still filtered scanlines

    def rgba(self) -> list[tuple[int, int, int, int]]:
        """Every pixel, row by row (8-bit RGB or RGBA, not interlaced)."""
        assert (self.bit_depth, self.interlace) == (8, 0)
        channels = {2: 3, 6: 4}[self.color_type]
        stride = self.width * channels
        previous = bytearray(stride)
        pixels: list[tuple[int, int, int, int]] = []
        for y in range(self.height):
            start = y * (stride + 1)
            kind, line = self.data[start], bytearray(self.data[start + 1 : start + 1 + stride])
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                up = previous[i]
                upper_left = previous[i - channels] if i >= channels else 0
                if kind == 1:
                    line[i] = (line[i] + left) & 0xFF
                elif kind == 2:
                    line[i] = (line[i] + up) & 0xFF
                elif kind == 3:
                    line[i] = (line[i] + (left + up) // 2) & 0xFF
                elif kind == 4:
                    p = left + up - upper_left
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                    predictor = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
                    line[i] = (line[i] + predictor) & 0xFF
                else:
                    assert kind == 0, f"unknown PNG filter {kind}"
            for x in range(0, stride, channels):
                pixel = line[x : x + channels]
                pixels.append((pixel[0], pixel[1], pixel[2], pixel[3] if channels == 4 else 255))
            previous = line
        return pixels


def read_png(data: bytes) -> Png:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, header, compressed = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
        position += 12 + length
    width, height, bit_depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    return Png(width, height, bit_depth, color_type, interlace, zlib.decompress(compressed))


def test_the_color_icon_is_a_192_pixel_full_colour_png(package: Path) -> None:
    icon = read_png(read_zip(package)["color.png"])
    assert (icon.width, icon.height) == (192, 192)
    assert icon.color_type in (2, 6), "a truecolour PNG"
    pixels = icon.rgba()
    assert len({pixel[:3] for pixel in pixels}) > 2
    assert any(r != g or g != b for r, g, b, _ in pixels), "not greyscale"


def test_the_outline_icon_is_32_pixels_white_on_transparent(package: Path) -> None:
    icon = read_png(read_zip(package)["outline.png"])
    assert (icon.width, icon.height) == (32, 32)
    assert icon.color_type == 6, "RGBA: the background must be transparent"
    pixels = icon.rgba()
    assert {pixel[:3] for pixel in pixels if pixel[3]} == {(255, 255, 255)}
    corners = [pixels[0], pixels[31], pixels[-32], pixels[-1]]
    assert all(alpha == 0 for *_, alpha in corners), "transparent background"
    assert any(alpha == 255 for *_, alpha in pixels), "a visible mark"


# --- the command ----------------------------------------------------------------------------


def test_package_command_writes_the_zip_and_prints_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dist"
    assert package_command(["--app-id", APP_ID, "--out", str(out), "--version", "1.0.7"]) == 0
    assert capsys.readouterr().out == f"{out / 'appPackage.zip'}\n"
    assert manifest_of(out / "appPackage.zip")["version"] == "1.0.7"


def test_package_command_explains_a_bad_app_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert package_command(["--app-id", "my-bot", "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("meetbot package: app id 'my-bot' is not a GUID")
    assert list(tmp_path.iterdir()) == []


def test_package_command_explains_a_missing_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--app-id", APP_ID, "--out", str(tmp_path / "out"), "--manifest-dir", str(tmp_path)]
    assert package_command(argv) == 2
    assert "no Teams app template" in capsys.readouterr().err
