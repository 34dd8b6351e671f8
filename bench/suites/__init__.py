"""Benchmark suites of bench/run.py: dataplane (issue 2), streams (3), triggers (4), ttl (5).

Each module exposes `NAME`, `TARGETS` (which targets it applies to; None = all) and
`run(target, cfg) -> dict`; it raises `common.Skip` with a clear message when the target lacks
the feature, so the harness runs before every feature has landed.
"""
