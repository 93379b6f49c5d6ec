"""The manager's figures, checked against values worked out by hand from the data set in conftest.py.

First response (s), cohort T1 T2 T3 T4 T8: 21600 86400 259200 7200 7200
  sorted 7200 7200 21600 86400 259200 → median v[2] = 21600; p90 at 3.6 → 86400 + 0.6·172800 = 190080;
  mean 381600 / 5 = 76320.
Resolution (s, minus paused), T1 T2 T3 T8: 259200, 1123200−86400 = 1036800, 432000−43200 = 388800, 43200
  sorted 43200 259200 388800 1036800 → median at 1.5 → 324000; p90 at 2.7 → 388800 + 0.7·648000 = 842400;
  mean 1728000 / 4 = 432000.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection

from helpdesk import metrics
from helpdesk.models import Ticket
from tests.api.conftest import NOW, DataSet

pytestmark = pytest.mark.django_db
MARCH = dict(date_from=date(2026, 3, 1), date_to=date(2026, 3, 15), now=NOW)


def figures(**extra: Any) -> dict[str, Any]:
    return metrics.response_times(metrics.MetricsFilter(**{**MARCH, **extra}))


def test_overall_figures(dataset: DataSet) -> None:
    result = figures()
    assert result["counts"] == {"received": 7, "responded": 4, "open": 2, "overdue": 1, "answered": 3, "withdrawn": 1,
                                "rejected": 1, "merged": 0}
    assert result["first_response"] == {
        "count": 5, "median_seconds": pytest.approx(21600), "p90_seconds": pytest.approx(190080),
        "mean_seconds": pytest.approx(76320)}
    assert result["resolution"] == {
        "count": 4, "median_seconds": pytest.approx(324000), "p90_seconds": pytest.approx(842400),
        "mean_seconds": pytest.approx(432000)}
    # On time: T1 T3 T8; breached: T2 (answered late) and T4 (open past due). T6 withdrawn counts as neither.
    assert result["sla"] == {"on_time": 3, "breached": 2, "compliance_rate": pytest.approx(0.6)}
    # Histogram edges 1/3/7/10 days; exactly 1 day and exactly 3 days fall in the upper bucket.
    assert result["distribution"]["first_response"] == [3, 1, 1, 0, 0]
    assert result["distribution"]["resolution"] == [1, 0, 2, 0, 1]


def test_backlog_ignores_the_period_but_not_the_clock(dataset: DataSet) -> None:
    backlog = figures()["backlog"]
    # Open now: T4 (14 days old), T5 (11.2), T7 (21), T9 (4.5); overdue T4 and T7.
    assert backlog == {"total": 4, "overdue": 2, "edges_days": [2, 5, 10], "by_age": [0, 1, 0, 3]}


def test_by_request_type(dataset: DataSet) -> None:
    rows = {row["request_type"]: row for row in figures()["by_request_type"]}
    assert set(rows) == {"access", "deletion", "complaint", "inquiry"}
    access = rows["access"]  # T1 T3 T5 T8
    assert (access["received"], access["responded"], access["open"], access["overdue"]) == (4, 3, 1, 0)
    assert (access["on_time"], access["breached"], access["compliance_rate"]) == (3, 0, 1.0)
    # first response 7200 21600 259200 → median 21600, p90 at 1.8 → 21600 + 0.8·237600 = 211680
    assert access["first_response"] == {"count": 3, "median_seconds": pytest.approx(21600),
                                        "p90_seconds": pytest.approx(211680), "mean_seconds": pytest.approx(96000)}
    # resolution 43200 259200 388800 → median 259200, p90 → 259200 + 0.8·129600 = 362880
    assert access["resolution"] == {"count": 3, "median_seconds": pytest.approx(259200),
                                    "p90_seconds": pytest.approx(362880), "mean_seconds": pytest.approx(230400)}
    assert rows["deletion"]["compliance_rate"] == 0.0
    assert rows["deletion"]["resolution"]["median_seconds"] == pytest.approx(1036800)
    assert rows["complaint"]["overdue"] == 1
    assert rows["complaint"]["resolution"] == {"count": 0, "median_seconds": None, "p90_seconds": None,
                                               "mean_seconds": None}
    assert rows["inquiry"]["withdrawn"] == 1 and rows["inquiry"]["compliance_rate"] is None


def test_weekly_trend_uses_local_weeks(dataset: DataSet) -> None:
    weekly = figures()["weekly"]
    assert [w["week_start"] for w in weekly] == ["2026-03-02", "2026-03-09"]
    first, second = weekly
    assert first["received"] == 4 and first["by_request_type"] == {"access": 2, "deletion": 1, "complaint": 1}
    assert (first["on_time"], first["breached"], first["compliance_rate"]) == (2, 2, 0.5)
    # T5 (Monday 07:00 KST = Sunday in UTC), T6 and T8 (Sunday 23:30 KST).
    assert second["received"] == 3 and second["by_request_type"] == {"access": 2, "inquiry": 1}
    assert (second["on_time"], second["breached"], second["compliance_rate"]) == (1, 0, 1.0)


def test_per_administrator_load(dataset: DataSet) -> None:
    load = {row["username"]: row for row in figures()["by_assignee"]}
    a, b = load["moonwon.park"], load["hyojoon.shim"]
    # A: T1 T2 T6 T8 in the period; T7 open and overdue from before it.
    assert {k: a[k] for k in ("open", "overdue", "received", "responded", "on_time", "breached")} == {
        "open": 1, "overdue": 1, "received": 4, "responded": 3, "on_time": 2, "breached": 1}
    assert a["compliance_rate"] == pytest.approx(2 / 3)
    assert a["first_response_mean_seconds"] == pytest.approx((21600 + 86400 + 7200) / 3)
    # B: T3 T4 in the period; T9 open from after it.
    assert {k: b[k] for k in ("open", "overdue", "received", "responded", "on_time", "breached")} == {
        "open": 2, "overdue": 1, "received": 2, "responded": 1, "on_time": 1, "breached": 1}
    assert b["first_response_mean_seconds"] == pytest.approx((259200 + 7200) / 2)
    unassigned = load[None]
    assert (unassigned["open"], unassigned["received"], unassigned["first_response_mean_seconds"]) == (1, 1, None)


def test_filters(dataset: DataSet) -> None:
    assert figures(request_type="access")["counts"]["received"] == 4
    by_a = figures(assignee=dataset.a)
    assert by_a["counts"] == {"received": 4, "responded": 3, "open": 0, "overdue": 0, "answered": 3, "withdrawn": 1,
                              "rejected": 0, "merged": 0}
    assert [row["username"] for row in by_a["by_assignee"]] == ["moonwon.park"]
    email = figures(channel="email")  # T2 T4
    assert email["counts"]["received"] == 2
    assert email["first_response"]["median_seconds"] == pytest.approx((86400 + 7200) / 2)
    assert figures(unassigned=True)["counts"]["received"] == 1
    # One day only: 03-15 in Seoul holds T8 alone (T9, 00:30 on the 16th, is the next day).
    assert figures(date_from=date(2026, 3, 15))["counts"]["received"] == 1
    assert figures(date_from=date(2026, 3, 16), date_to=date(2026, 3, 16))["counts"]["received"] == 1


def test_empty_period_has_no_figures(dataset: DataSet) -> None:
    result = figures(date_from=date(2025, 1, 1), date_to=date(2025, 1, 31))
    assert result["counts"]["received"] == 0
    assert result["first_response"] == {"count": 0, "median_seconds": None, "p90_seconds": None, "mean_seconds": None}
    assert result["sla"]["compliance_rate"] is None and result["weekly"] == []


def test_window_fallback_matches_hand_values(dataset: DataSet) -> None:
    """The exact SQLite fallback, run on whichever database this is (PostgreSQL cross-checks it)."""
    qs = metrics.cohort(metrics.MetricsFilter(**MARCH))
    found = metrics._window_percentiles(qs, metrics.first_response_seconds(), None)
    assert found["all"] == {"median": pytest.approx(21600), "p90": pytest.approx(190080)}
    by_type = metrics._window_percentiles(qs, metrics.resolution_seconds(), "request_type")
    assert by_type["access"] == {"median": pytest.approx(259200), "p90": pytest.approx(362880)}


def test_figures_take_constant_queries(dataset: DataSet, django_assert_max_num_queries: Any) -> None:
    """Nothing is fetched per ticket: the number of queries does not grow with the data.
    (The first read also recomputes the summary of the days written since: a fixed 7 more.)"""
    with django_assert_max_num_queries(21) as before:
        figures()
    for i in range(5):
        Ticket.objects.create(reference=f"PRIV-2026-9{i:03d}", subject="x", requester=dataset.tickets["T1"].requester,
                              channel="web", received_at=dataset.tickets["T1"].received_at,
                              due_at=dataset.tickets["T1"].due_at, assignee=dataset.a)
    with django_assert_max_num_queries(len(before.captured_queries)):
        figures()


@pytest.mark.postgres
def test_postgres_uses_percentile_cont(dataset: DataSet, django_assert_num_queries: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        metrics.response_times_live(metrics.MetricsFilter(**MARCH))
    assert any("percentile_cont" in q["sql"] for q in ctx.captured_queries)
    # The summary's selection gives the very same doubles as percentile_cont (same interpolation).
    live, summarised = metrics.response_times_live(metrics.MetricsFilter(**MARCH)), figures()
    for kind in ("first_response", "resolution"):
        for name in ("median_seconds", "p90_seconds"):
            assert summarised[kind][name] == live[kind][name]
        for got, expected in zip(summarised["by_request_type"], live["by_request_type"], strict=True):
            assert (got[kind]["median_seconds"], got[kind]["p90_seconds"]) == (
                expected[kind]["median_seconds"], expected[kind]["p90_seconds"])


def test_recorded_active_seconds_win_over_timestamps(dataset: DataSet) -> None:
    """The SLA clock's ``active_seconds`` (policy-aware) is used when it was recorded at answer time."""
    Ticket.objects.filter(pk=dataset.tickets["T2"].pk).update(active_seconds=100)
    # resolution values now 100, 43200, 259200, 388800 → median 151200, mean 691300 / 4
    res = figures()["resolution"]
    assert res["median_seconds"] == pytest.approx(151200)
    assert res["mean_seconds"] == pytest.approx(691300 / 4)
