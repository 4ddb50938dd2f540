"""Benchmarks of devhost: `python -m bench` (or `make bench`)."""
