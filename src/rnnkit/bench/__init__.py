"""Benchmarks that print ratios against a reference measured in the same run.

Wall-clock targets live here, never in the tests: the machines are shared and noisy, so only a
ratio against a reference timed interleaved with the candidate means anything.
"""
