"""Benchmarks of codi-ledger: `python -m bench.run --help` (see docs/benchmarks.md)."""
