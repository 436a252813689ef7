#!/usr/bin/env python3
"""Time one command as a whole process: wall seconds (perf_counter, microseconds) and peak
RSS, appended as 'secs kib' to OUT. /usr/bin/time alone prints only hundredths of a second,
too coarse for a return of a few milliseconds; it is still what reports the peak RSS, because
a forked Python's own memory would count in getrusage before the exec.

Usage: measure.py OUT CMD [ARG...]   (stdout of CMD is discarded; stderr passes through)"""
import os
import subprocess
import sys
import tempfile
import time

out, cmd = sys.argv[1], sys.argv[2:]
with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
    start = time.perf_counter()
    code = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd], stdout=subprocess.DEVNULL)
    secs = time.perf_counter() - start
    peak = rss.read().strip().splitlines()[-1]
with open(out, "a") as f:
    f.write(f"{secs:.6f} {peak}\n")
sys.exit(code)
