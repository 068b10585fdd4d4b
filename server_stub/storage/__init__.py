"""Persistence behind one interface (:class:`Storage`); SQLite is the implementation today."""

from server_stub.storage.base import Storage, StorageError
from server_stub.storage.sqlite import SqliteStorage

__all__ = ["SqliteStorage", "Storage", "StorageError"]
