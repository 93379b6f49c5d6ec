"""helpdesk.intake.ahead: the next batch parsed by a helper process, the same verdicts as parsing here."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from helpdesk.intake import ahead
from helpdesk.intake import batch as intake_batch
from helpdesk.intake.batch import in_batches
from helpdesk.intake.decide import Quarantine
from helpdesk.intake.ingest import parse, verdict

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "email"


@pytest.fixture(autouse=True)
def _batches_of_100(monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper works the same with any batch size; batches of 100 keep these tests quick."""
    monkeypatch.setattr(intake_batch, "BATCH_SIZE", 100)


def _items() -> list[tuple[bytes, str]]:
    corpus = [(path.read_bytes(), path.name) for path in sorted(CORPUS.glob("*.eml"))]
    broken = [(b"", "empty.eml"), (b"no header block at all", "junk.eml")]
    return (corpus + broken) * (1 + 400 // (len(corpus) + 2))  # several batches of 100


def _counting_here(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    here: list[int] = []
    original = ahead._parse_here

    def parse_here(batch: list[Any]) -> Any:
        here.append(len(batch))
        return original(batch)

    monkeypatch.setattr(ahead, "_parse_here", parse_here)
    return here


def _helper_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give each batch to the helper once it is up, instead of parsing here while it starts."""
    original = ahead._Helper.start_on

    def start_on(self: Any, batch: Any) -> None:
        if not self.ready:
            self.from_helper.poll(30)  # its "ready" (not consumed here)
        original(self, batch)

    monkeypatch.setattr(ahead._Helper, "start_on", start_on)


def test_the_helper_parses_later_batches_to_the_same_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    items = _items()
    here = _counting_here(monkeypatch)
    _helper_waited_for(monkeypatch)
    seen: list[tuple[bytes, str]] = []
    verdicts = []
    for batch, parsed, _writer in ahead.parsed_ahead(in_batches(items)):
        seen.extend(batch)
        verdicts.extend(parsed)
    assert seen == items
    assert verdicts == [parse(raw, source=source) for raw, source in items]
    assert any(isinstance(v, Quarantine) and v.reason == "empty" for v in verdicts)
    assert len(list(in_batches(items))) >= 4
    assert here == [intake_batch.BATCH_SIZE], "only the first batch is parsed here; the helper parses the others"


def test_one_batch_starts_no_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ahead, "_Helper", None)  # would fail if called
    items = _items()[:50]
    assert [p for _, parsed, _w in ahead.parsed_ahead(in_batches(items)) for p in parsed] == [
        parse(raw, source=source) for raw, source in items]


def test_switched_off_it_parses_everything_here(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    settings.DESK_INTAKE_PARSE_AHEAD = False
    monkeypatch.setattr(ahead, "_Helper", None)
    items = _items()
    assert len([p for _, parsed, _w in ahead.parsed_ahead(in_batches(items)) for p in parsed]) == len(items)


def test_a_helper_that_dies_changes_nothing(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
                                            ) -> None:
    items = _items()
    _helper_waited_for(monkeypatch)
    waiting_start_on = ahead._Helper.start_on
    killed = False

    def start_and_kill(self: Any, batch: Any) -> None:  # the helper dies once it has been given a batch
        nonlocal killed
        waiting_start_on(self, batch)
        if self.parse_request is not None and not killed:
            self.process.kill()
            self.process.wait()
            killed = True

    monkeypatch.setattr(ahead._Helper, "start_on", start_and_kill)
    here = _counting_here(monkeypatch)
    verdicts = []
    with caplog.at_level(logging.WARNING, logger="helpdesk.intake.ahead"):
        for _batch, parsed, _writer in ahead.parsed_ahead(in_batches(items)):
            verdicts.extend(parsed)
    assert killed
    assert verdicts == [parse(raw, source=source) for raw, source in items]
    assert len(here) == len(list(in_batches(items)))  # after the helper died, every batch was parsed here
    assert "intake helper process failed" in caplog.text


def test_a_failure_reading_the_next_batch_is_raised_after_this_one_is_handed_over() -> None:
    items = _items()[:150]

    def batches() -> Any:
        yield items[:100]
        raise ConnectionError("the mailbox went away")

    handed = []
    with pytest.raises(ConnectionError):
        for batch, parsed, _writer in ahead.parsed_ahead(batches()):
            handed.append((batch, parsed))
    assert len(handed) == 1 and handed[0][0] == items[:100] and len(handed[0][1]) == 100


def test_the_helper_writes_the_files_it_is_handed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _helper_waited_for(monkeypatch)
    items = _items()
    writers = [writer for _b, _p, writer in ahead.parsed_ahead(in_batches(items))]
    assert writers[0] is None or writers[-1] is not None  # once up, each batch gets the helper
    helper = ahead._Helper()
    try:
        helper.from_helper.poll(30)
        writer = helper.writer()
        assert writer is not None
        paths = [str(tmp_path / f"{n % 3:02x}" / f"{n}.eml") for n in range(40)]  # new directories too
        for n, path in enumerate(paths):
            writer.write(path, f"mail {n}".encode(), 0o640, 0o750)
        writer.wait()
        assert [Path(p).read_bytes() for p in paths] == [f"mail {n}".encode() for n in range(40)]
        assert {Path(p).stat().st_mode & 0o777 for p in paths} == {0o640}
        assert (tmp_path / "00").stat().st_mode & 0o777 == 0o750
        writer.write(paths[0], b"again", None, None)  # never over an existing file
        with pytest.raises(OSError, match=r"could not write.*FileExistsError"):
            writer.wait()
        assert Path(paths[0]).read_bytes() == b"mail 0"
    finally:
        helper.close()


def test_a_write_is_answered_before_the_parse_the_helper_is_busy_with(tmp_path: Path) -> None:
    items = _items()
    helper = ahead._Helper()
    try:
        assert helper.from_helper.poll(30) and helper.up()
        parsing = helper.request("parse", [raw for raw, _source in items] * 4)  # long enough to be mid-way
        write = helper.request("write", [(str(tmp_path / "a" / "1.eml"), b"mail", None, None)])
        first_answer = helper.from_helper.recv()  # what comes back first, as the helper sent it
        assert first_answer == (write, None)
        assert (tmp_path / "a" / "1.eml").read_bytes() == b"mail"
        parsed = helper.answer(parsing)
        assert len(parsed) == 4 * len(items)
        assert [verdict(result, source) for result, (_raw, source) in zip(parsed, items, strict=False)] == [
            parse(raw, source=source) for raw, source in items]
        # Answers kept for their askers: a parse answered after a later write is still found.
        later_parse = helper.request("parse", [items[0][0]])
        later_write = helper.request("write", [(str(tmp_path / "a" / "2.eml"), b"two", None, None)])
        assert helper.answer(later_write) is None and len(helper.answer(later_parse)) == 1
    finally:
        helper.close()
