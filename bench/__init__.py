"""Benchmarks of devhost: `python -m bench` (or `make bench`)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the app the benchmarks run
