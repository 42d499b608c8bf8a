"""The bot's state store (botbuilder's `Storage` shape, duck-typed) on SQLite, Blob or memory."""

from bot.storage.base import ClosableStorage
from bot.storage.errors import ConflictError, StorageError, is_conflict
from bot.storage.factory import StorageKind, create_storage
from bot.storage.memory import StrictMemoryStorage
from bot.storage.records import JsonObject, Records
from bot.storage.sqlite import SqliteStorage

__all__ = [
    "ClosableStorage",
    "ConflictError",
    "JsonObject",
    "Records",
    "SqliteStorage",
    "StorageError",
    "StorageKind",
    "StrictMemoryStorage",
    "create_storage",
    "is_conflict",
]
