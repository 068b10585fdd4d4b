"""`python -m ui` runs the desktop app, like `sockdesk`."""

from ui.main import main

raise SystemExit(main())
