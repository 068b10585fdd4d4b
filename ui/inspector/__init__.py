"""The Queues tab (queue inspector): queue list, message table, replay, import/export."""

from ui.inspector.tab import QueuesTab

__all__ = ["QueuesTab"]
