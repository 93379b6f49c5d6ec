"""Issue 25.1: every stage of intake does work linear in the size of the mail.

Nothing is timed. Valgrind's callgrind counts the machine instructions of each parse — the stdlib
parser, our regexes, html5ever inside nh3 all included, the same count on every run — for each
family of ``tests/support/pathological.py`` at sizes 0, n and 4n. Linear work gives
(W(4n) − W(0)) / (W(n) − W(0)) ≈ 4 (a little more for an n·log n sort); the quadratic list scan,
lazy regex and stdlib parsers this issue found gave 10–16.

Needs valgrind (Debian package, installed by ``make system-deps`` and ``.ci/run``): skipped without
it, except under CI, where its absence fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.pathological import FAMILIES
from tests.support.realservices import require

ROOT = Path(__file__).resolve().parents[2]
N = 150
# Linear: about 4. Quadratic: about 16 at these sizes (more than 8 for every family that was).
MAX_RATIO = 6.0


def _instructions_per_family(sizes: list[int], out_dir: Path) -> list[list[int]]:
    """Instructions of each family's parse at each size: one list per size, in ``FAMILIES`` order."""
    prefix = out_dir / "parse"
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=starmap_next",
         "--dump-after=starmap_next", f"--callgrind-out-file={prefix}.%p",
         sys.executable, "-m", "tests.support.linear_work_probe", *map(str, sizes)],
        cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"}, check=True, capture_output=True, timeout=1800,
    )
    dumps = sorted(out_dir.glob("parse.*.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
    totals = []
    for dump in dumps:
        line = next(line for line in dump.read_text().splitlines() if line.startswith("totals:"))
        totals.append(int(line.split()[1]))
    # Two dumps per family and size: the parse, then the empty step that ends the starmap.
    per_parse = len(FAMILIES) * len(sizes)
    assert len(totals) == 2 * per_parse, f"expected {2 * per_parse} callgrind dumps, got {len(totals)}"
    works = [totals[i] + totals[i + 1] for i in range(0, len(totals), 2)]
    return [works[i:i + len(FAMILIES)] for i in range(0, per_parse, len(FAMILIES))]


@pytest.mark.slow
def test_parsing_work_grows_linearly_with_every_pathological_repetition(tmp_path: Path) -> None:
    require(shutil.which("valgrind") is not None, "valgrind (make system-deps installs it)")
    base, small, large = _instructions_per_family([0, N, 4 * N], tmp_path)
    ratios = {
        name: (large[i] - base[i]) / max(small[i] - base[i], 1)
        for i, name in enumerate(FAMILIES)
    }
    report = ", ".join(f"{name} {ratio:.1f}" for name, ratio in ratios.items())
    assert all(ratio <= MAX_RATIO for ratio in ratios.values()), f"super-linear work (4n/n): {report}"
