"""The key that signs sandbox tokens and calendar links, the same in every process."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
import time
from pathlib import Path

from bot.core.oserrors import os_error_cause
from bot.settings import Settings

_log = logging.getLogger(__name__)

KEY_BYTES = 32
# A key file shorter than a key and older than this was left by a start that crashed while
# writing it (versions before the key was written atomically): it is replaced.
ABANDONED_AFTER_S = 5.0


class KeyFileError(RuntimeError):
    """The key file cannot be read or written; the message is one line: path, cause, fix."""


def load_or_create_key(path: Path, *, abandoned_after: float = ABANDONED_AFTER_S) -> bytes:
    """Read the key, or create it exactly once even when several processes start together.

    The key is written atomically: a new key goes to a temporary file in the same
    directory, is flushed to disk (fsync), then hard-linked to `path`, which fails if
    another process got there first (that process's key is then read and used). So a
    crash at any point leaves either no key file or a whole key, never a short one.

    A key file shorter than `KEY_BYTES` can only come from an older version that crashed
    while writing it, or from such a version writing it right now. Decided: one that has
    not changed for `abandoned_after` seconds is abandoned and is replaced by a new key (a
    rename under an exclusive lock beside it, so several processes replace it once); a
    younger one is waited for. Raises `KeyFileError` (one line) when the file cannot be
    read or written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + abandoned_after + 5.0
        while True:
            key, age = _read(path)
            if key is None:
                created = _create(path)
                if created is not None:
                    return created
                continue  # another process linked its key first: read that one
            if len(key) >= KEY_BYTES:
                return key
            if age >= abandoned_after:
                return _replace_abandoned(path, abandoned_after)
            if time.monotonic() > deadline:  # pragma: no cover - a clock jump at worst
                raise KeyFileError(
                    f"signing key {str(path)!r} stays shorter than a key; "
                    "stop every MeetBot process, delete the file and start again"
                )
            time.sleep(0.05)  # an older version is writing it now
    except OSError as error:
        raise KeyFileError(
            f"signing key {str(path)!r}: cannot read or write it ({os_error_cause(error)}); "
            "make its directory writable for this user, or set SQLITE_PATH to a file "
            "in a writable directory (the key lives beside it)"
        ) from None


def _read(path: Path) -> tuple[bytes | None, float]:
    """The file's bytes and how long since it last changed, or None if there is none."""
    try:
        with path.open("rb") as handle:
            age = time.time() - os.fstat(handle.fileno()).st_mtime
            return handle.read(), age
    except FileNotFoundError:
        return None, 0.0


def _write_temporary(path: Path) -> tuple[Path, bytes]:
    """A new key in a fsynced temporary file beside `path` (removed if writing fails)."""
    key = secrets.token_bytes(KEY_BYTES)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name), key


def _create(path: Path) -> bytes | None:
    """Link a whole new key to `path`; None if a key file appeared there first."""
    temporary, key = _write_temporary(path)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return None
    finally:
        temporary.unlink()
    _sync_directory(path.parent)
    return key


def _replace_abandoned(path: Path, abandoned_after: float) -> bytes:
    import fcntl  # POSIX only; this branch only exists for files older versions left

    with open(path.parent / f".{path.name}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key, age = _read(path)  # another process may have replaced it meanwhile
        if key is not None and len(key) >= KEY_BYTES:
            return key
        if key is not None and age < abandoned_after:
            raise KeyFileError(  # pragma: no cover - an old version rewrote it just now
                f"signing key {str(path)!r} is being written by another process; start again"
            )
        _log.warning("replacing the signing key %s, left short by a crashed start", path)
        temporary, new_key = _write_temporary(path)
        os.replace(temporary, path)
        _sync_directory(path.parent)
        return new_key


def _sync_directory(directory: Path) -> None:
    """Make the new name durable (a crash may otherwise lose the link, never the key)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - not every platform opens directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def signing_key(settings: Settings) -> bytes:
    """Signs sandbox tokens and calendar links; the same for every process sharing the store."""
    if settings.storage == "memory":
        return secrets.token_bytes(32)
    if settings.local_mode:
        return load_or_create_key(Path(settings.sqlite_path).parent / "meetbot.key")
    password = settings.microsoft_app_password.get_secret_value()
    if not password:
        _log.warning("no app secret to derive a signing key from: calendar links end at restart")
        return secrets.token_bytes(32)
    # Replicas share the app's secret; derive a key from it rather than keeping another.
    return hmac.new(password.encode(), b"meetbot/signing-key/v1", hashlib.sha256).digest()
