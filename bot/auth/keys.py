"""The key that signs sandbox tokens and calendar links, the same in every process."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from bot.settings import Settings

_log = logging.getLogger(__name__)

KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """Read the key, or create it exactly once even when several processes start together."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = path.read_bytes()
            if len(key) >= KEY_BYTES:
                return key
            # Another process created the file and is about to write the key.
            os.sched_yield()
        raise RuntimeError(f"{path} holds no usable key; delete it to make a new one") from None
    with os.fdopen(fd, "wb") as handle:
        key = secrets.token_bytes(KEY_BYTES)
        handle.write(key)
    return key


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
