"""Parse each pathological mail at one size, for ``test_linear_work.py`` (run under callgrind).

``python -m tests.support.linear_work_probe N`` parses every family of ``pathological.FAMILIES``
at size N, each inside its own ``itertools.starmap`` call: callgrind, told to count only inside
``starmap_next`` and to write its figures after each, reports the instructions of each family's
parse separately (two dumps per family: the call, then the empty step that ends the iteration).
Each mail is parsed once first, outside any count, so lazy imports and caches are not counted.
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


def main(size: int) -> None:
    mails = [make(size) for make in FAMILIES.values()]
    for raw in mails:
        _parse(raw)
    for raw in mails:
        list(starmap(_parse, [(raw,)]))


if __name__ == "__main__":
    main(int(sys.argv[1]))
