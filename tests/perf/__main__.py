"""`python -m tests.perf [--quick] [--only B1,B3]` runs the benchmark suite."""

from tests.perf.run import main

raise SystemExit(main())
