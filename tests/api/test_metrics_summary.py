"""The figures' summary (helpdesk.metrics.summary) gives exactly the live figures, after every write path.

Each check reads the summary path directly (it must not fall back to the live figures) and compares the
whole report with :func:`metrics.response_times_live`, the reference computed from the tickets alone.
"""

from __future__ import annotations

from datetime import date, timedelta
from email.message import EmailMessage
from importlib import import_module
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk import metrics, services
from helpdesk.intake.batch import ingest_messages
from helpdesk.metrics import report, summary
from helpdesk.models import FigureDay, FigureDirtyDay, Ticket
from helpdesk.models.figures import HISTOGRAM_EDGES, histogram_field
from helpdesk.trust import retention
from tests.api.conftest import NOW, DataSet
from workflows.states import OPEN_STATES

pytestmark = pytest.mark.django_db


def _close(got: Any, expected: Any, path: str = "") -> None:
    if isinstance(expected, dict):
        assert set(got) == set(expected), path
        for key in expected:
            _close(got[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), path
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            _close(g, e, f"{path}[{i}]")
    elif isinstance(expected, float) and not isinstance(got, bool):
        # Means come from integer-microsecond sums on one side, float sums on the other.
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-9), path
    else:
        assert got == expected, path


def _filters(dataset: DataSet, now: Any) -> list[metrics.MetricsFilter]:
    year = dict(date_from=date(2026, 1, 1), date_to=date(2026, 12, 31), now=now)
    march = dict(date_from=date(2026, 3, 1), date_to=date(2026, 3, 15), now=now)
    return [metrics.MetricsFilter(**year), metrics.MetricsFilter(**march),
            metrics.MetricsFilter(**march, request_type="access"), metrics.MetricsFilter(**year, channel="email"),
            metrics.MetricsFilter(**year, assignee=dataset.a), metrics.MetricsFilter(**year, unassigned=True),
            metrics.MetricsFilter(date_from=date(2026, 3, 16), date_to=date(2026, 3, 16), now=now)]


def assert_summary_exact(dataset: DataSet, now: Any = NOW) -> None:
    for f in _filters(dataset, now):
        expected = metrics.response_times_live(f)
        summary.refresh(f.date_from, f.date_to)
        with summary.snapshot():
            got = report.build(f, summary.inputs(f))  # raises Inconsistent rather than falling back
        _close(got, expected)
        _close(metrics.response_times(f), expected)


def test_summary_matches_the_live_figures(dataset: DataSet) -> None:
    assert_summary_exact(dataset)
    # Only closed tickets are summarised: T1 T2 T3 T6 T8, one row each (distinct day/type/assignee/channel).
    assert FigureDay.objects.count() == 5
    assert sum(FigureDay.objects.values_list("received", flat=True)) == 5


def test_summary_histogram_buckets(dataset: DataSet) -> None:
    summary.refresh()
    t1 = FigureDay.objects.get(request_type="access", channel="web", day=date(2026, 3, 2))
    # T1: first response 6 h, answer 3 days (259200 s): exactly on an edge, so in the bucket above it.
    fr_bucket = HISTOGRAM_EDGES.index(6 * 3600) + 1
    res_bucket = HISTOGRAM_EDGES.index(3 * 86400) + 1
    assert getattr(t1, histogram_field("fr", fr_bucket)) == 1
    assert getattr(t1, histogram_field("res", res_bucket)) == 1
    assert (t1.fr_sum_us, t1.res_sum_us) == (21600 * 10**6, 259200 * 10**6)


@pytest.mark.slow
def test_write_paths_keep_the_summary_exact(dataset: DataSet, make_ticket: Any,
                                            django_capture_on_commit_callbacks: Any) -> None:
    t = dataset.tickets
    now = timezone.now()
    assert_summary_exact(dataset, now)
    with django_capture_on_commit_callbacks(execute=True):
        # Reclassification of an answered ticket.
        services.reclassify(ticket=t["T1"], request_type="deletion", actor=dataset.a)
        assert_summary_exact(dataset, now)
        # Reopen: the ticket leaves the summary and is counted live again.
        services.transition_ticket(ticket=Ticket.objects.get(pk=t["T1"].pk), name="reopen", actor=dataset.a,
                                   reason="The answer was incomplete.")
        assert_summary_exact(dataset, now)
        # An answer (reply and respond) closes a ticket: it enters the summary.
        t4 = Ticket.objects.get(pk=t["T4"].pk)
        services.send_reply(ticket=t4, author=dataset.b, body_text="답변드립니다.", and_respond=True)
        assert Ticket.objects.get(pk=t4.pk).state not in OPEN_STATES
        assert_summary_exact(dataset, now)
        # Pause and resume an open ticket; withdraw another.
        services.transition_ticket(ticket=t["T9"], name="request_info", actor=dataset.b, question="ID, please")
        services.transition_ticket(ticket=Ticket.objects.get(pk=t["T9"].pk), name="resume", actor=dataset.b)
        services.transition_ticket(ticket=t["T5"], name="withdraw", actor=dataset.manager)
        assert_summary_exact(dataset, now)
    # A new ticket, one at a time, then a bulk intake.
    make_ticket(email="new@example.com", subject="새 요청")
    mails = []
    for i in range(3):
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = f"bulk{i}@example.com", "privacy@example.com", f"요청 {i}"
        mail["Message-ID"] = f"<bulk{i}@example.com>"
        mail.set_content("개인정보 열람을 요청합니다.")
        mails.append((mail.as_bytes(), f"bulk-{i}"))
    with django_capture_on_commit_callbacks(execute=True):
        assert len(list(ingest_messages(mails))) == 3
    assert_summary_exact(dataset, now)
    # Writes that bypass the services: a queryset update, the retention purge, a bulk delete.
    Ticket.objects.filter(pk=t["T2"].pk).update(responded_at=t["T2"].responded_at - timedelta(days=5))
    assert_summary_exact(dataset, now)
    with django_capture_on_commit_callbacks(execute=True):
        retention.delete_tickets([Ticket.objects.get(pk=t["T3"].pk)], reason="retention")
    assert_summary_exact(dataset, now)
    Ticket.objects.filter(pk=t["T8"].pk).delete()
    assert_summary_exact(dataset, now)


def test_only_closed_tickets_mark_days(dataset: DataSet, make_ticket: Any) -> None:
    summary.refresh()
    assert not FigureDirtyDay.objects.exists()
    make_ticket(email="open@example.com")  # open: counted live, nothing to recompute
    Ticket.objects.filter(pk=dataset.tickets["T5"].pk).update(subject="still open")
    assert not FigureDirtyDay.objects.exists()
    Ticket.objects.filter(pk=dataset.tickets["T6"].pk).update(subject="closed one")
    assert set(FigureDirtyDay.objects.values_list("day", flat=True)) == {date(2026, 3, 12)}


def test_rebuild_command(dataset: DataSet) -> None:
    FigureDay.objects.all().delete()  # lost: e.g. restored without the summary
    FigureDay.objects.create(day=date(2026, 3, 3), request_type="access", channel="web", received=99)
    call_command("rebuild_figures", verbosity=0)
    assert not FigureDirtyDay.objects.exists()
    assert_summary_exact(dataset)


def test_a_summary_that_disagrees_is_not_used(dataset: DataSet) -> None:
    """If a bucket does not hold what the histogram says, the live figures answer (still exact)."""
    f = metrics.MetricsFilter(date_from=date(2026, 3, 1), date_to=date(2026, 3, 15), now=NOW)
    expected = metrics.response_times_live(f)
    summary.refresh()
    row = FigureDay.objects.get(day=date(2026, 3, 2))
    name = histogram_field("fr", HISTOGRAM_EDGES.index(6 * 3600) + 1)
    FigureDay.objects.filter(pk=row.pk).update(**{name: 5})
    with summary.snapshot(), pytest.raises(summary.Inconsistent):
        summary.inputs(f)
    _close(metrics.response_times(f), expected)


def test_dirty_days_cover_the_local_day(dataset: DataSet) -> None:
    """Marks are UTC dates; 2026-03-15 in UTC overlaps the local days 03-15 and 03-16 in Seoul."""
    assert summary._local_days_of([date(2026, 3, 15)]) == {date(2026, 3, 15), date(2026, 3, 16)}


def test_triggers_name_the_open_states() -> None:
    migration = import_module("helpdesk.migrations.0010_figures_triggers")
    assert "(" + ", ".join(f"'{s}'" for s in OPEN_STATES) + ")" == migration.OPEN
    assert summary.triggers_installed()


def test_without_triggers_the_summary_is_not_trusted(dataset: DataSet) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite drops triggers when a migration rebuilds the table")
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER helpdesk_ticket_figures_update")
    assert not summary.triggers_installed()
    f = metrics.MetricsFilter(date_from=date(2026, 3, 1), date_to=date(2026, 3, 15), now=NOW)
    with summary.snapshot(), pytest.raises(summary.Inconsistent):
        summary.inputs(f)
    _close(metrics.response_times(f), metrics.response_times_live(f))


def test_summary_reads_in_a_fixed_handful_of_queries(dataset: DataSet) -> None:
    """The marks check, the histogram sums, the open tickets' histogram, one roll-up of every count
    and sum (summary and open tickets together), the percentile selection and the backlog. SQLite
    adds the triggers check and selects one duration per query."""
    from django.test.utils import CaptureQueriesContext

    f = metrics.MetricsFilter(date_from=date(2026, 1, 1), date_to=date(2026, 12, 31), now=NOW)
    summary.refresh()
    with summary.snapshot(), CaptureQueriesContext(connection) as ctx:
        summary.inputs(f)
    selects = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) == (6 if connection.vendor == "postgresql" else 8), selects
    assert sum(sql.startswith("WITH f AS") for sql in selects) == 1  # the roll-up


def test_open_ticket_queries_stay_within_their_covering_index(dataset: DataSet) -> None:
    """The open tickets' figures read only columns of the partial index ticket_open_cover, so
    PostgreSQL answers them index-only (a column outside it, e.g. COUNT(id), sends them to the table)."""
    import re

    from django.test.utils import CaptureQueriesContext

    index = next(i for i in Ticket._meta.indexes if i.name == "ticket_open_cover")
    covered = {Ticket._meta.get_field(name).column for name in [*index.fields, *index.include]}
    f = metrics.MetricsFilter(date_from=date(2026, 1, 1), date_to=date(2026, 12, 31), now=NOW)
    summary.refresh()
    with summary.snapshot(), CaptureQueriesContext(connection) as ctx:
        summary.inputs(f)
    open_filter = '"helpdesk_ticket"."state" IN ('
    open_queries = [q["sql"] for q in ctx.captured_queries if open_filter in q["sql"]]
    assert len(open_queries) == 3  # histogram, the open part of the roll-up, backlog
    for sql in open_queries:
        assert set(re.findall(r'"helpdesk_ticket"\."(\w+)"', sql)) <= covered, sql


def _summary_state() -> tuple[list[Any], list[Any]]:
    return (sorted(FigureDirtyDay.objects.values_list("pk", "day")),
            sorted(FigureDay.objects.values_list("pk", "day", "received", "responded")))


def test_reading_the_figures_writes_nothing(dataset: DataSet, manager: Any) -> None:
    """Issue 24.4: the API, the dashboard and its export only read; days written since the last refresh
    are answered from the tickets, exactly, and the refresh (beat's task, cron's command) catches up."""
    from django.test import Client

    from helpdesk.metrics.tasks import refresh_figures
    from tests.api.conftest import token_client

    summary.refresh()
    services.reclassify(ticket=dataset.tickets["T1"], request_type="deletion", actor=dataset.a)  # marks its day
    before = _summary_state()
    assert before[0], "the write marked a day"
    f = metrics.MetricsFilter(date_from=date(2026, 3, 1), date_to=date(2026, 3, 15), now=NOW)
    browser = Client()
    browser.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        api = token_client(manager).get("/api/v1/metrics/response-times/?from=2026-03-01&to=2026-03-15")
        page = browser.get("/desk/dashboard/?from=2026-03-01&to=2026-03-15")
        export = browser.get("/desk/dashboard/export/figures/?from=2026-03-01&to=2026-03-15")
    assert (api.status_code, page.status_code, export.status_code) == (200, 200, 200)
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
              and "figure" in q["sql"].lower()]
    assert writes == [] and _summary_state() == before
    _close(metrics.response_times(f), metrics.response_times_live(f))  # exact meanwhile (answered live)
    assert refresh_figures() > 0 and not FigureDirtyDay.objects.exists()
    call_command("refresh_figures", stdout=StringIO())  # cron's path: nothing left to do
    assert_summary_exact(dataset)
