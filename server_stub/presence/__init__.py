"""Who is connected and who is in which room.

``base`` is the interface the namespaces talk to; ``local`` answers from memory for a
single process; ``redispresence`` keeps the same answers in Redis so several server
processes agree on "first socket in" and "last socket out".
"""
