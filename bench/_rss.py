"""Run a command, pass its output through, then print its peak RSS: ``__rss_kb__ N`` (a line of its own).

Measuring in a fresh parent keeps the figure to that one process tree, not to earlier runs.
"""

from __future__ import annotations

import resource
import subprocess
import sys

if __name__ == "__main__":
    proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    sys.stdout.write(proc.stdout.rstrip("\n"))
    sys.stdout.write(f"\n__rss_kb__ {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\n")
    sys.exit(proc.returncode)
