#!/usr/bin/env python3
"""Median seconds and peak RSS of measure.py's 'secs kib' lines: stats.py FILE -> 'secs mib'."""
import statistics
import sys

runs = [line.split() for line in open(sys.argv[1]) if line.strip()]
secs = statistics.median(float(r[0]) for r in runs)
peak = max(int(r[1]) for r in runs) / 1024
print(f"{secs:.4f} {peak:.1f}")
