"""Benchmarks: they print numbers and assert nothing (tests never assert timings).

Run them with ``make bench`` (``python -m bench``). Each benchmark builds its own temporary
app and data, so a run never touches ``instance/``.
"""
