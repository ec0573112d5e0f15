"""Benchmark suites behind ``python -m pcnet.benchmark``."""
