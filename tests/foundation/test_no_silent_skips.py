"""A missing real part must fail in CI, never skip: every skip in the suite goes through
``tests.support.realservices.require`` unless it skips by design (a test of the other database's
feature, a docs refresh, the load marker)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.realservices import require

TESTS = Path(__file__).resolve().parents[1]
SKIP = re.compile(r"pytest\.(skip|importorskip)\(|mark\.skip(if)?\(")
# Reasons that are a design choice, not a missing part: a vendor-specific test on the other database's
# run, refreshing committed screenshots, the load tests outside `make test`.
BY_DESIGN = re.compile(r"PostgreSQL|SQLite|postgresql|DESK_UPDATE_DOCS|load/fault test|row locks|"
                       r"chained marks|needs the PostgreSQL")


def test_every_skip_is_by_design_or_goes_through_require() -> None:
    silent = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == "test_no_silent_skips.py" or path == TESTS / "support" / "realservices.py":
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if SKIP.search(line):
                context = " ".join(lines[max(0, number - 3):number + 1])  # the condition may be a line up
                if not BY_DESIGN.search(context):
                    silent.append(f"{path.relative_to(TESTS)}:{number}: {line.strip()}")
    assert not silent, "skips that would hide a missing real part (use realservices.require):\n" + "\n".join(silent)


def test_require_fails_in_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required for this test in CI: Dovecot"):
        require(False, "Dovecot")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require(False, "Dovecot")
    require(True, "Dovecot")  # present: nothing happens
