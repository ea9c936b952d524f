"""Benchmarks (not tests): ``python bench/run.py [--size 50000] [--quick]``; see bench/README.md."""
