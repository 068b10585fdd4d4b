"""`python -m server_stub` is the same as `sockdesk-server`."""

from server_stub.cli import main

raise SystemExit(main())
