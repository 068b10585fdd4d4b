"""How packets reach sockets: the adjustments to python-socketio / engine.io and aiohttp.

``fanout`` (broadcast without a task per recipient, no websocket compression),
``livegate`` (client managers that give "no gap, no double" when a socket catches up),
``longpoll`` (a polling client's close ends its pending GET; POSTs decoded Node's way)
and ``eventloop`` (uvloop or the standard loop under it all). Engine.IO as the Node
server speaks it: ``engine`` (the server classes, the connect timeout), ``verify``
(refused requests), ``heartbeat`` (ping timeouts on time) and ``frames`` (packets that
close a session).
"""
