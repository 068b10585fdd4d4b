"""Benchmarks (not collected by pytest); run the suite with `python -m tests.perf`."""
