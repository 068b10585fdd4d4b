"""The Socket.IO namespace handlers: events in, validated calls on the backend, acks out.

``base`` holds what every namespace shares (auth at connect, the ``welcome``, handler
registration); ``chat`` is ``/chat``, ``queue`` is ``/queue`` and ``sandbox`` serves
every other namespace. None of them knows which backend is behind the interfaces.
"""
