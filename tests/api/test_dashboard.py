"""The managers' dashboard page and its export links (session-authenticated, like the desk)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import NOW, DataSet

pytestmark = pytest.mark.django_db
URL = "/desk/dashboard/?from=2026-03-01&to=2026-03-15"


def chart_data(response: Any) -> dict[str, Any]:
    match = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match, "chart data missing"
    return json.loads(match.group(1))


@pytest.mark.parametrize("prefix", ["", "/en"])
def test_manager_sees_figures_and_charts(dataset: DataSet, client: Client, time_machine: Any, prefix: str) -> None:
    time_machine.move_to(NOW, tick=False)
    client.force_login(dataset.manager)
    response = client.get(prefix + URL)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == ("en" if prefix else "ko")
    page = response.content.decode()
    assert 'data-figure="received">7<' in page
    assert "60.0%" in page  # compliance 3 / 5
    assert "chart.umd.min.js" in page
    # Every script and stylesheet is served by the desk itself (no CDN; a random CSRF token may
    # contain any letters, so look at the URLs, not at the whole page).
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page)
    charts = chart_data(response)
    assert charts["weekly"]["labels"] == ["2026-03-02", "2026-03-09"]
    assert sum(sum(d["data"]) for d in charts["weekly"]["datasets"]) == 7
    assert charts["distribution"]["datasets"][0]["data"] == [3, 1, 1, 0, 0]
    assert charts["compliance"]["datasets"][0]["data"] == [50.0, 100.0]
    assert set(charts["workload"]["labels"]) == {"Moonwon Park", "Hyojoon Shim"}


def test_filters_and_bad_input(dataset: DataSet, client: Client, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    client.force_login(dataset.manager)
    response = client.get(URL + "&request_type=deletion")
    assert 'data-figure="received">1<' in response.content.decode()
    broken = client.get("/desk/dashboard/?from=2026-03-15&to=2026-03-01")
    assert broken.status_code == 200 and 'role="alert"' in broken.content.decode()


def test_only_managers(dataset: DataSet, client: Client) -> None:
    assert client.get(URL).status_code == 302  # to the desk's sign-in
    client.force_login(dataset.a)
    assert client.get(URL).status_code == 403
    assert client.get("/desk/dashboard/export/figures/").status_code == 403
    own = client.get("/desk/dashboard/export/tickets/?from=2026-03-01&to=2026-03-15")
    assert own.status_code == 200
    text = own.content.decode("utf-8-sig")
    assert "T1 " in text and "T3 " not in text  # administrators export their own tickets only
    assert client.get("/desk/dashboard/export/tickets/?include_emails=1").status_code == 403


def test_manager_exports_from_the_dashboard(dataset: DataSet, client: Client) -> None:
    client.force_login(dataset.manager)
    xlsx = client.get("/desk/dashboard/export/figures/?from=2026-03-01&to=2026-03-15&file_format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "attachment;" in xlsx["Content-Disposition"]
    assert client.get("/desk/dashboard/export/tickets/?file_format=pdf").status_code == 400


def _cards(page: str) -> dict[str, int]:
    return {name: int(value) for name, value in re.findall(r'data-figure="(\w+)">(\d+)<', page)}


@pytest.mark.parametrize("prefix", ["", "/en"])
def test_the_top_cards_add_up(dataset: DataSet, client: Client, time_machine: Any, prefix: str) -> None:
    """Issue 28.9: received = open + answered + withdrawn + rejected (+ merged), each on its own card."""
    time_machine.move_to(NOW, tick=False)
    client.force_login(dataset.manager)
    page = client.get(prefix + URL).content.decode()
    shown = _cards(page)
    assert shown == {"received": 7, "open": 2, "answered": 3, "withdrawn": 1, "rejected": 1, "merged": 0}
    assert shown["received"] == sum(value for name, value in shown.items() if name != "received")
    assert ("Rejected" if prefix else "거절됨") in page


def test_a_reopened_ticket_counts_once(dataset: DataSet, client: Client, time_machine: Any) -> None:
    """A reopened answer keeps its responded_at: counted by its state (open), not also as answered."""
    from helpdesk.models import Ticket
    from workflows.states import TicketState

    Ticket.objects.filter(pk=dataset.tickets["T1"].pk).update(state=TicketState.RECEIVED, closed_at=None)
    time_machine.move_to(NOW, tick=False)
    client.force_login(dataset.manager)
    shown = _cards(client.get(URL).content.decode())
    assert shown == {"received": 7, "open": 3, "answered": 2, "withdrawn": 1, "rejected": 1, "merged": 0}


def test_a_merged_duplicate_has_its_own_card(dataset: DataSet, client: Client, time_machine: Any) -> None:
    """Issue 26.5 meets 28.9: a duplicate merged into another ticket is received, and neither open nor
    answered: it is counted on the "merged" card and the cards still add up."""
    from helpdesk.models import Ticket
    from workflows.states import TicketState

    Ticket.objects.filter(pk=dataset.tickets["T4"].pk).update(state=TicketState.MERGED)
    time_machine.move_to(NOW, tick=False)
    client.force_login(dataset.manager)
    page = client.get(URL).content.decode()
    shown = _cards(page)
    assert shown["merged"] == 1 and shown["open"] == 1
    assert shown["received"] == 7 == sum(value for name, value in shown.items() if name != "received")
    assert "병합됨" in page or "Merged into another" in page


def test_every_state_counts_in_one_category() -> None:
    """A state added later (e.g. merged) must be given a category, or the sum would not hold."""
    from workflows.states import STATE_CATEGORY, StateCategory, TicketState, states_in

    assert set(STATE_CATEGORY) == set(TicketState.values)
    assert sorted(s for c in StateCategory for s in states_in(c)) == sorted(TicketState.values)


@pytest.mark.parametrize(("seconds", "english", "korean"), [
    (7200, "2 h", "2시간"), (360, "6 min", "6분"), (9000, "2 h 30 min", "2시간 30분"),
    (100800, "1 d 4 h", "1일 4시간"), (172800, "2 d", "2일"), (None, "—", "—"),
])
def test_durations_read_as_a_person_says_them(seconds: float | None, english: str, korean: str) -> None:
    from django.utils import translation

    from helpdesk.dashboard.views import _hours

    with translation.override("en"):
        assert _hours(seconds) == english
    with translation.override("ko"):
        assert _hours(seconds) == korean


def test_a_one_week_period_still_shows_its_point(dataset: DataSet, client: Client, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    client.force_login(dataset.manager)
    charts = chart_data(client.get("/desk/dashboard/?from=2026-03-02&to=2026-03-08"))
    compliance = charts["compliance"]
    assert len(compliance["labels"]) == 1
    assert compliance["datasets"][0]["pointRadius"] >= 4  # a visible dot, not a line of length zero
