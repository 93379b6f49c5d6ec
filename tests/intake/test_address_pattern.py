"""The address pattern accepts exactly what its first, slow-to-compile form accepted."""

from __future__ import annotations

import re

import pytest

from helpdesk.intake.email import headers

# As written until 2026-12: classes naming U+0080–U+FFFF (15 ms to compile at every process start).
REFERENCE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\u0080-\uffff]{1,64}@"
    r"(?:[A-Za-z0-9\u0080-\uffff](?:[A-Za-z0-9\-\u0080-\uffff]{0,62}[A-Za-z0-9\u0080-\uffff])?\.)+"
    r"[A-Za-z\u0080-\uffff][A-Za-z0-9\-\u0080-\uffff]{0,62}$"
)


@pytest.mark.parametrize("template", ["a{}b@example.com", "{}@example.com", "kim@a{}b.kr", "kim@{}.kr",
                                      "kim@example.{}", "kim@example.k{}", "kim@ex{}.co.kr"])
def test_every_character_is_taken_or_refused_as_before(template: str) -> None:
    characters = [chr(c) for c in range(0x10000)] + ["\U00010000", "\U0001f600", "\U0010ffff"]
    differing = [hex(ord(c)) for c in characters
                 if bool(REFERENCE.match(template.format(c))) != headers.is_address(template.format(c))]
    assert differing == []


def test_no_class_names_the_range_that_made_it_slow() -> None:
    # A class naming U+0080–U+FFFF makes the regex compiler fill a 65,536-entry table.
    assert "\\uffff" not in headers.ADDR_SPEC.pattern and "\uffff" not in headers.ADDR_SPEC.pattern
    assert headers.ADDR_SPEC.match("홍길동@예시.한국") and headers.ADDR_SPEC.match("kim.o'neil+privacy@example.co.kr")


def test_addresses_refuses_characters_beyond_the_basic_plane_as_before() -> None:
    assert headers.addresses(["Kim <kim@example.com>"]) == [("Kim", "kim@example.com")]
    assert headers.addresses(["Smile <\U0001f600@example.com>"]) == []
