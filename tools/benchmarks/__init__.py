"""Speed and memory benchmarks of videoar, run by ``tools/benchmark.py`` (not part of the library)."""
