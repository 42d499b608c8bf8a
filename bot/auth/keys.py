"""A random key kept beside the state store, shared by every process on the machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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
