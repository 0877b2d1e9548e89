"""Benchmark of the portal at Tianrui scale: pages, tickets, routing, replay, sweep.

Run it with ``make bench`` or ``python -m bench --help``. The page
docs/benchmarks.md describes what it measures and records past runs.
"""
