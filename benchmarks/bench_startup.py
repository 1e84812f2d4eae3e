"""How long do `skin-cancer --version` and `import skin_cancer` take, each in a new process?

Neither imports `datasets` (the package registers its builder the moment `datasets` is imported) nor
hashes the package's code (that waits until a cache key is first needed). Prints the median wall-clock
seconds of several runs, and, for comparison, of `import datasets`. Target: under 0.3 s for --version
on an idle machine.

    python benchmarks/bench_startup.py             # 7 runs each
    python benchmarks/bench_startup.py --runs 15
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "skin-cancer --version": [sys.executable, "-m", "skin_cancer", "--version"],
    "import skin_cancer": [sys.executable, "-c", "import skin_cancer"],
    "import datasets (for comparison)": [sys.executable, "-c", "import datasets"],
}


def seconds(command: list[str]) -> float:
    """Wall-clock seconds of one run of `command` in a new process (output discarded)."""
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (the median is printed)")
    args = parser.parse_args()
    for label, command in COMMANDS.items():
        seconds(command)  # warm the file cache and the bytecode
        times = [seconds(command) for _ in range(args.runs)]
        print(f"{label:34s} {statistics.median(times):.3f} s (median of {args.runs}; min {min(times):.3f} s)")


if __name__ == "__main__":
    main()
