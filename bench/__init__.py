"""Throughput benchmark of the staff admin against a real gunicorn server.

Run it with ``make bench`` or ``python -m bench --help``. The page
docs/benchmarks.md describes what it measures and records past runs.
"""
