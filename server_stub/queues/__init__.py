"""The ``/queue`` rules (delivery, acks, retries, dead letters), away from Socket.IO.

``base`` is the broker interface the ``/queue`` namespace calls. ``dispatcher`` runs the
rules in the memory of one process and persists them through the SQLite storage;
``redisqueues`` runs the same rules inside Redis, as the Lua scripts of
``redisqueues_lua``, so consumers on different processes share one queue.
"""
