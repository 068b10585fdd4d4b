"""SockDesk desktop UI: everything that imports Qt lives here."""
