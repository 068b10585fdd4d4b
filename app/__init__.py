"""SockDesk client core: Qt-free, plain asyncio. The GUI, the CLI and the tests all drive it."""

__version__ = "0.1.0"
