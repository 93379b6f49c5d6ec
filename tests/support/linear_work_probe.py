"""Parse each pathological mail at one size, for ``test_linear_work.py`` (run under callgrind).

``python -m tests.support.linear_work_probe N [N ...]`` parses every family of
``pathological.FAMILIES`` at each size in turn, each parse inside its own ``itertools.starmap`` call:
callgrind, told to count only inside ``starmap_next`` and to write its figures after each, reports
the instructions of each family's parse separately (two dumps per family and size: the call, then
the empty step that ends the iteration). Every family is parsed once first at the first size,
outside any count, so lazy imports and caches are not counted; all sizes share one process because
starting Python under callgrind costs more than the parses.
"""

from __future__ import annotations

import contextlib
import sys
from itertools import starmap

from helpdesk.intake.email.parser import parse_email
from tests.support.pathological import FAMILIES


def _parse(raw: bytes) -> None:
    with contextlib.suppress(Exception):  # quarantine is a fine outcome; only the work is measured
        parse_email(raw)


def main(sizes: list[int]) -> None:
    for make in FAMILIES.values():
        _parse(make(sizes[0]))
    for size in sizes:
        for make in FAMILIES.values():
            raw = make(size)
            list(starmap(_parse, [(raw,)]))


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]])
