"""`python -m app` is the headless CLI, the same as `sockdesk-cli`."""

from app.cli import main

raise SystemExit(main())
