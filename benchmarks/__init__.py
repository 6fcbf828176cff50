"""ELSA's benchmarks: each module is run from the repository root as ``python -m benchmarks.NAME``.

:mod:`benchmarks.harness` times and records them (one timer, one results writer, the
``"run"`` record of every results file); :mod:`benchmarks.pools` is where their pools
come from. Results are written to ``benchmarks/results/``.
"""
