"""Benchmarks and evaluation harnesses (quality scores on the annotated corpora)."""
