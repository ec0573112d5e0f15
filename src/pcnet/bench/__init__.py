"""Benchmark suites behind ``python -m pcnet.benchmark``: one module per suite, each with
``add_arguments(parser)`` and ``run(args)`` (``pcnet.benchmark.SUITES`` names them); the options
several suites share are in :mod:`pcnet.bench.options`."""
