"""Metrics and the fixed evaluation protocols E1–E4."""
