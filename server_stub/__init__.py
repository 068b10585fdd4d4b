"""The bundled Socket.IO server. Stands alone: imports neither app nor ui."""

__version__ = "0.1.0"
