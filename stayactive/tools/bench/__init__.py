"""Benchmarks: they measure and print figures with ratios to baselines from the same run."""
