"""Summary state behind the managers' figures (see :mod:`helpdesk.metrics.summary`).

``FigureDay`` holds, per local day of receipt × request type × assignee × channel, the additive
figures of the tickets that are *no longer open* (answered, rejected, withdrawn): those never change
with the clock, only when the ticket itself is written. Open tickets are always counted live.
``FigureDirtyDay`` lists the UTC dates whose tickets changed since their summary was computed; a
database trigger on the ticket table fills it on every INSERT, UPDATE and DELETE, whatever the
write path (services, bulk intake, retention purge, erasure, raw SQL), so the summary can never
silently go stale. The figures recompute dirty days before reading.
"""

from __future__ import annotations

from django.db import models

# Histogram edges in seconds for the exact percentile selection (and the dashboard's distribution,
# whose edges 1, 3, 7 and 10 days must be among them). Bucket 0 is below 0 s, bucket i ≥ 1 is
# [EDGES[i-1], EDGES[i]), the last bucket is ≥ EDGES[-1].
_H, _D = 3600, 86400
HISTOGRAM_EDGES: tuple[float, ...] = tuple(float(s) for s in (
    0, 15 * 60, 30 * 60, _H, 2 * _H, 3 * _H, 4 * _H, 6 * _H, 8 * _H, 10 * _H, 12 * _H, 15 * _H, 18 * _H, 21 * _H,
    _D, 27 * _H, 30 * _H, 33 * _H, 36 * _H, 42 * _H, 2 * _D, 60 * _H, 3 * _D, 84 * _H, 4 * _D, 108 * _H, 5 * _D,
    6 * _D, 7 * _D, 8 * _D, 9 * _D, 10 * _D, 12 * _D, 14 * _D, 21 * _D, 30 * _D, 60 * _D, 90 * _D,
))
HISTOGRAM_BUCKETS = len(HISTOGRAM_EDGES) + 1
DURATION_KINDS = ("fr", "res")  # time to first response, time to resolution


def histogram_field(kind: str, bucket: int) -> str:
    return f"{kind}_h{bucket}"


class FigureDay(models.Model):
    day = models.DateField()  # local date of receipt in the desk's time zone
    request_type = models.CharField(max_length=32)
    # Plain ids, no foreign key: deleting a user writes the tickets (SET_NULL), which marks the days.
    assignee = models.BigIntegerField(null=True)
    channel = models.CharField(max_length=8)
    received = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    breached = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)  # by state category (workflows.states.STATE_CATEGORY)
    withdrawn = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    fr_count = models.PositiveIntegerField(default=0)
    fr_sum_us = models.BigIntegerField(default=0)  # integer microseconds: sums stay exact
    res_count = models.PositiveIntegerField(default=0)
    res_sum_us = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="figureday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.request_type} {self.channel} {self.assignee}"


for _kind in DURATION_KINDS:
    for _i in range(HISTOGRAM_BUCKETS):
        FigureDay.add_to_class(histogram_field(_kind, _i), models.PositiveIntegerField(default=0))


class FigureDirtyDay(models.Model):
    """A UTC date of receipt of a ticket written since its day was summarised. Append-only, one row
    per writing statement: writers never wait on each other here, and a refresh deletes only the
    rows it saw, so a mark committed during a refresh survives it."""

    day = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="figuredirtyday_day")]

    def __str__(self) -> str:
        return str(self.day)
