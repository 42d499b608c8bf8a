"""Builds the Teams app package (`appPackage.zip`) from the template in `manifest/`."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# The template sits beside the `bot` package in the source tree. An editable install
# (`pip install -e .`) imports `bot` from there, so this path finds it; a wheel does not ship it.
MANIFEST_DIR = Path(__file__).resolve().parents[2] / "manifest"
PACKAGE_NAME = "appPackage.zip"
APP_ID_PLACEHOLDER = "{{APP_ID}}"

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NIL_GUID = "00000000-0000-0000-0000-000000000000"
_SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?")
_ANY_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}")
# Zip entries carry a timestamp; a fixed one makes the same inputs give the same bytes.
_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


class PackageError(ValueError):
    """The package cannot be built from these inputs; the message says why."""


def normalize_app_id(app_id: str) -> str:
    """Return the app id in the lower-case form Azure shows, or raise if it is not a GUID."""
    candidate = app_id.strip().lower()
    if not _GUID.fullmatch(candidate):
        raise PackageError(
            f"app id {app_id!r} is not a GUID: use the Azure Bot's Microsoft App ID "
            "(MicrosoftAppId), e.g. 12345678-9abc-def0-1234-56789abcdef0"
        )
    if candidate == _NIL_GUID:
        raise PackageError("app id is the all-zero GUID: use the Azure Bot's Microsoft App ID")
    return candidate


def _normalize_version(version: str) -> str:
    if not _SEMVER.fullmatch(version):
        raise PackageError(
            f"version {version!r} is not MAJOR.MINOR.PATCH (e.g. 1.0.1); "
            "Teams needs a higher version for every update you upload"
        )
    return version


def _normalize_host(public_host: str) -> str:
    """Reduce `https://bot.contoso.com/api/messages` or `bot.contoso.com` to the bare host."""
    host = public_host.strip().lower()
    if "://" in host:
        host = host.split("://", 1)[1]
    host = host.split("/", 1)[0]
    if len(host) > 253 or not _HOST.fullmatch(host):
        raise PackageError(f"public host {public_host!r} is not a host name like bot.contoso.com")
    return host


def _fill_placeholders(value: Any, app_id: str) -> Any:
    if isinstance(value, str):
        return value.replace(APP_ID_PLACEHOLDER, app_id)
    if isinstance(value, list):
        return [_fill_placeholders(item, app_id) for item in value]
    if isinstance(value, dict):
        return {key: _fill_placeholders(item, app_id) for key, item in value.items()}
    return value


def _unfilled_placeholders(value: Any) -> list[str]:
    if isinstance(value, str):
        return _ANY_PLACEHOLDER.findall(value)
    if isinstance(value, list):
        return [found for item in value for found in _unfilled_placeholders(item)]
    if isinstance(value, dict):
        return [found for item in value.values() for found in _unfilled_placeholders(item)]
    return []


def render_manifest(
    template: dict[str, Any],
    app_id: str,
    *,
    version: str | None = None,
    public_host: str | None = None,
) -> dict[str, Any]:
    """Fill the template: the app id wherever `{{APP_ID}}` stands, then version and domains."""
    manifest: dict[str, Any] = _fill_placeholders(template, normalize_app_id(app_id))
    if version is not None:
        manifest["version"] = _normalize_version(version)
    if public_host is not None:
        domains: list[str] = manifest.setdefault("validDomains", [])
        host = _normalize_host(public_host)
        if host not in domains:
            domains.append(host)
    leftovers = _unfilled_placeholders(manifest)
    if leftovers:
        raise PackageError(f"the manifest template has placeholders no one fills: {leftovers}")
    return manifest


def _read_template(manifest_dir: Path) -> dict[str, Any]:
    path = manifest_dir / "manifest.json"
    try:
        template = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackageError(
            f"no Teams app template at {path}: run from a MeetBot checkout installed with "
            "`pip install -e .`, or pass the template directory (--manifest-dir)"
        ) from None
    except json.JSONDecodeError as exc:
        raise PackageError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(template, dict):
        raise PackageError(f"{path} must hold a JSON object")
    return template


def _icon_files(manifest: dict[str, Any], manifest_dir: Path) -> list[tuple[str, bytes]]:
    icons = manifest.get("icons")
    if not isinstance(icons, dict):
        raise PackageError("the manifest template has no icons")
    files = []
    for kind in ("color", "outline"):
        name = icons.get(kind)
        if not isinstance(name, str) or "/" in name or "\\" in name:
            raise PackageError(f"icons.{kind} must name a file beside manifest.json, got {name!r}")
        try:
            files.append((name, (manifest_dir / name).read_bytes()))
        except FileNotFoundError:
            raise PackageError(f"icon {manifest_dir / name} is missing") from None
    return files


def _write_zip(path: Path, entries: Sequence[tuple[str, bytes]]) -> None:
    """Write the entries at the zip's root with fixed metadata, atomically."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIMESTAMP)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, whatever builds it
                info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
                archive.writestr(info, data, compresslevel=9)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def build_package(
    app_id: str,
    out_dir: Path,
    *,
    version: str | None = None,
    public_host: str | None = None,
    manifest_dir: Path = MANIFEST_DIR,
) -> Path:
    """Write `<out_dir>/appPackage.zip` (manifest.json and the two icons at its root).

    The Teams app id is the bot's app id: one GUID names the app, the bot, the message
    extension and the SSO resource `api://botid-<app id>`, and rebuilding for the same bot
    updates the same Teams app instead of adding a second one.
    """
    manifest = render_manifest(
        _read_template(manifest_dir), app_id, version=version, public_host=public_host
    )
    manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    entries = [("manifest.json", manifest_bytes), *_icon_files(manifest, manifest_dir)]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PACKAGE_NAME
    _write_zip(path, entries)
    return path


def add_package_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `meetbot package`'s options on a (sub)parser."""
    parser.add_argument(
        "--app-id",
        required=True,
        metavar="GUID",
        help="the Azure Bot's Microsoft App ID (MicrosoftAppId); also the Teams app id",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("dist"),
        metavar="DIR",
        help=f"where to write {PACKAGE_NAME} (default: dist)",
    )
    parser.add_argument(
        "--version",
        dest="app_version",
        metavar="X.Y.Z",
        help="the app version; raise it for every update you upload (default: the template's)",
    )
    parser.add_argument(
        "--public-host",
        metavar="HOST",
        help="also list the bot's public host (e.g. bot.contoso.com) in validDomains",
    )
    parser.add_argument(
        "--manifest-dir",
        type=Path,
        default=MANIFEST_DIR,
        metavar="DIR",
        help=f"the template: manifest.json and its icons (default: {MANIFEST_DIR})",
    )


def run_package(args: argparse.Namespace) -> int:
    """Build the package from parsed options; 0 on success, 2 (and a reason on stderr) if not."""
    try:
        path = build_package(
            args.app_id,
            args.out,
            version=args.app_version,
            public_host=args.public_host,
            manifest_dir=args.manifest_dir,
        )
    except PackageError as exc:
        sys.stderr.write(f"meetbot package: {exc}\n")
        return 2
    sys.stdout.write(f"{path}\n")
    return 0


def package_command(argv: Sequence[str] | None = None) -> int:
    """`meetbot package --app-id GUID [--out DIR]` as a function."""
    parser = argparse.ArgumentParser(
        prog="meetbot package", description="Build the Teams app package (appPackage.zip)."
    )
    add_package_arguments(parser)
    return run_package(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(package_command())
