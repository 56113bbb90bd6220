"""LogMonitor's benchmarks, run by ``make bench`` (``python -m bench``).

Each ``bench_<name>.py`` module has ``run(options=None) -> dict`` and
``table(result) -> str``; ``python -m bench [name ...]`` runs them, prints the
tables and saves ``bench/results/<name>.json``. See ``bench/README.md``.
"""

__all__: list[str] = []
