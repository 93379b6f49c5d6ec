"""Intake's CPU time at n and 4n for each pathological family (issue 25.1): figures, no asserts.

    .venv/bin/python bench/intake_linearity.py [n]       # default n = 20000

Each family of ``tests/support/pathological.py`` (one fragment repeated n times in a header, a
parameter or a body) is parsed at n and 4n; the best of three runs is printed with the ratio.
Linear work gives about 4; the quadratic stages issue 25 found gave 15 and more. The test that
guards this counts instructions instead (tests/intake/test_linear_work.py): timing belongs here.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpdesk.intake.email.parser import parse_email
from tests.support.pathological import FAMILIES


def cpu_seconds(raw: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        with contextlib.suppress(Exception):
            parse_email(raw)
        best = min(best, time.process_time() - start)
    return best


def main(n: int) -> None:
    print(f"{'family':26} {'bytes at n':>11} {'n (ms)':>9} {'4n (ms)':>9} {'4n/n':>6}")
    for name, make in FAMILIES.items():
        small, large = make(n), make(4 * n)
        t_small, t_large = cpu_seconds(small), cpu_seconds(large)
        ratio = t_large / t_small if t_small > 0 else float("nan")
        print(f"{name:26} {len(small):11,} {t_small * 1000:9.1f} {t_large * 1000:9.1f} {ratio:6.1f}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
