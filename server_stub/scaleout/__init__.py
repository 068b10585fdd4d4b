"""What only exists when several server processes share one Redis (``--redis``).

``redislink`` is the single ordered pipeline every Redis backend (storage, presence,
queues) sends its commands through; ``redisnodes`` keeps the processes' heartbeats and
cleans up after one that died.
"""
