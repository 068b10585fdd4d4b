"""Persistence behind one interface (:class:`Storage`): SQLite (embedded, the default)
or Redis (shared by several server processes)."""

from server_stub.storage.base import QueueStore, Storage, StorageError
from server_stub.storage.sqlite import SqliteStorage

__all__ = ["QueueStore", "SqliteStorage", "Storage", "StorageError"]
