"""Ticket endpoints: the contract's fields, transitions and their error bodies, filters, query counts."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk import services
from helpdesk.fulfilment.services import record_manual_fulfilment
from helpdesk.models import Ticket, User
from tests.api.conftest import NOW, DataSet, token_client
from workflows.states import TicketState as S

pytestmark = pytest.mark.django_db


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_detail_has_the_contract_fields(make_ticket: Any, admin_user: User) -> None:
    ticket = make_ticket()
    services.add_note(ticket=ticket, author=admin_user, body_text="내부 메모")
    body = token_client(admin_user).get(f"/api/v1/tickets/{ticket.reference}/").json()
    for key in ("reference", "subject", "request_type", "state", "requester", "assignee", "received_at", "due_at",
                "first_response_at", "responded_at", "messages"):
        assert key in body
    assert body["requester"] == {"email": "requester@example.com", "name": "홍길동"}
    assert body["assignee"] == {"username": "moonwon.park", "name": "Moonwon Park"}
    assert body["received_at"].endswith("+09:00")  # ISO 8601 with the desk's offset
    directions = [m["direction"] for m in body["messages"]]
    assert directions[0] == "inbound" and "note" in directions
    for message in body["messages"]:
        assert {"direction", "sender", "sent_at", "body_text", "attachments"} <= set(message)
    assert "verify" in body["transitions"]


def test_transition_success_conflict_and_guard(make_ticket: Any, admin_user: User) -> None:
    ticket = make_ticket()
    client = token_client(admin_user)
    url = f"/api/v1/tickets/{ticket.reference}/transitions"
    # 400: the guard needs data; field errors say which.
    error = assert_error(client.post(f"{url}/verify/", {}, format="json"), 400, "guard_failed")
    assert "verification_method" in error["fields"]
    # 400 from the serializer: a value outside the choices.
    error = assert_error(client.post(f"{url}/verify/", {"verification_method": "psychic"}, format="json"), 400,
                         "invalid")
    assert "verification_method" in error["fields"]
    # 409: stale version (someone else changed it).
    stale = ticket.version
    services.add_note(ticket=ticket, author=admin_user, body_text="someone else's change")
    assert_error(client.post(f"{url}/verify/", {"verification_method": "id_document", "expected_version": stale},
                             format="json"), 409, "conflict")
    # 200 with the current version.
    ticket.refresh_from_db()
    ok = client.post(f"{url}/verify/", {"verification_method": "id_document", "expected_version": ticket.version},
                     format="json")
    assert ok.status_code == 200 and ok.json()["state"] == S.VERIFIED
    # 409: not allowed from the current state.
    assert_error(client.post(f"{url}/verify/", {"verification_method": "id_document"}, format="json"), 409,
                 "transition_not_allowed")
    assert_error(client.post(f"{url}/teleport/", {}, format="json"), 409, "transition_not_allowed")
    # respond needs a reply first: 400 with the field saying so.
    record_manual_fulfilment(ticket=ticket, actor=admin_user, reason="열람 자료를 수작업으로 준비했습니다.")
    client.post(f"{url}/process/", {"note": "열람 자료 준비"}, format="json")
    error = assert_error(client.post(f"{url}/respond/", {}, format="json"), 400, "guard_failed")
    assert "reply" in error["fields"]
    reply = client.post(f"/api/v1/tickets/{ticket.reference}/messages/",
                        {"body_text": "요청하신 자료를 보내드립니다.", "and_respond": True}, format="json")
    assert reply.status_code == 201 and reply.json()["direction"] == "outbound"
    ticket.refresh_from_db()
    assert ticket.state == S.RESPONDED and ticket.responded_at is not None


def test_other_errors_share_the_shape(make_ticket: Any, admin_user: User, make_admin: Any) -> None:
    ticket = make_ticket()
    client = token_client(admin_user)
    assert_error(client.get("/api/v1/tickets/PRIV-1999-0001/"), 404, "not_found")
    assert_error(client.get("/api/v1/tickets/?state=nonsense"), 400, "invalid")
    assert_error(client.get("/api/v1/tickets/?page=999"), 404, "not_found")
    assert_error(client.delete(f"/api/v1/tickets/{ticket.reference}/"), 405, "method_not_allowed")
    assert_error(client.post(f"/api/v1/tickets/{ticket.reference}/notes/", {"body_text": " "}, format="json"), 400,
                 "guard_failed")
    assert_error(client.post("/api/v1/tickets/", {"subject": "x"}, format="json"), 400, "invalid")
    bad = token_client(None)
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(bad.get("/api/v1/tickets/"), 401, "authentication_failed")
    intruder = make_admin("someone.else")
    assert_error(token_client(intruder).post(f"/api/v1/tickets/{ticket.reference}/transitions/verify/",
                                             {"verification_method": "email_link"}, format="json"),
                 403, "permission_denied")


def test_staff_create_uses_the_staff_channel(admin_user: User, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client(admin_user).post("/api/v1/tickets/", {
            "requester_email": "Caller@Example.com", "requester_name": "김민수", "subject": "전화로 받은 삭제 요청",
            "body_text": "회원 정보를 삭제해 주세요.", "request_type": "deletion"}, format="json")
    assert response.status_code == 201
    body = response.json()
    ticket = Ticket.objects.get(reference=body["reference"])
    assert ticket.channel == "staff" and ticket.request_type == "deletion"
    assert body["requester"]["email"] == "caller@example.com"


def test_list_filters(dataset: DataSet, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    client = token_client(dataset.manager)

    def refs(query: str) -> set[str]:
        body = client.get(f"/api/v1/tickets/?{query}").json()
        return {t["subject"].split()[0] for t in body["results"]}

    assert refs("state=responded") == {"T1", "T2", "T8"}
    assert refs("request_type=deletion") == {"T2"}
    assert refs("assignee=hyojoon.shim") == {"T3", "T4", "T9"}
    assert refs("assignee=none") == {"T5"}
    assert refs("overdue=true") == {"T4", "T7"}  # open and past due on 03-20
    assert "T4" not in refs("overdue=false")
    assert refs("search=person3@example.com") == {"T4"}
    body = client.get("/api/v1/tickets/?page_size=2&ordering=received_at").json()
    assert body["count"] == 9 and len(body["results"]) == 2 and body["next"]
    assert [t["subject"].split()[0] for t in body["results"]] == ["T7", "T1"]
    capped = client.get("/api/v1/tickets/?page_size=5000").json()
    assert len(capped["results"]) == 9  # page_size is capped at 200, not an error


def test_list_query_count_is_constant(make_ticket: Any, manager: User, admin_user: User, other_admin: User) -> None:
    client = token_client(manager)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/tickets/?page_size=50")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        make_ticket(email=f"a{i}@example.com")
    few = count_queries()
    for i in range(12):
        make_ticket(email=f"b{i}@example.com")
    assert count_queries() == few
    assert few <= 5  # token+user, groups, count, page


def test_detail_query_count_is_constant(make_ticket: Any, manager: User, admin_user: User) -> None:
    ticket = make_ticket()
    client = token_client(manager)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/v1/tickets/{ticket.reference}/").status_code == 200
        return len(ctx.captured_queries)

    before = count_queries()
    for i in range(5):
        services.add_note(ticket=ticket, author=admin_user, body_text=f"note {i}")
    assert count_queries() == before


def test_metrics_endpoint(dataset: DataSet, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    client = token_client(dataset.manager)
    body = client.get("/api/v1/metrics/response-times/?from=2026-03-01&to=2026-03-15").json()
    assert body["counts"]["received"] == 7
    assert body["first_response"]["median_seconds"] == pytest.approx(21600)
    assert body["sla"]["compliance_rate"] == pytest.approx(0.6)
    assert client.get("/api/v1/metrics/response-times/?from=2026-03-01&to=2026-03-15&request_type=access"
                      ).json()["counts"]["received"] == 4
    assert client.get("/api/v1/metrics/response-times/?from=2026-03-01&to=2026-03-15&assignee=moonwon.park"
                      ).json()["counts"]["received"] == 4
    assert client.get("/api/v1/metrics/response-times/?from=2026-03-01&to=2026-03-15&channel=email"
                      ).json()["counts"]["received"] == 2
    error = assert_error(client.get("/api/v1/metrics/response-times/?from=2026-03-15&to=2026-03-01"), 400, "invalid")
    assert "to" in error["fields"]
    assert_error(client.get("/api/v1/metrics/response-times/?assignee=ghost"), 400, "invalid")
    assert_error(client.get("/api/v1/metrics/response-times/?from=9999-12-31"), 400, "invalid")


# The Korean headers of the ticket export (the API speaks Korean unless asked otherwise) → codes.
_CODES = {"제목": "subject", "기한 준수": "on_time", "답변까지 걸린 시간(시간)": "resolution_hours",
          "접수 시각": "received_at"}


def test_exports_read_in_the_readers_language_with_codes_beside(dataset: DataSet, time_machine: Any) -> None:
    """Issue 28.9: labels in the reader's language, the machine codes in a second column."""
    time_machine.move_to(NOW, tick=False)
    client = token_client(dataset.manager)
    url = "/api/v1/exports/tickets/?from=2026-03-01&to=2026-03-15"
    english = list(csv.reader(io.StringIO(client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode("utf-8-sig"))))
    header = english[0]
    assert header[:5] == ["Reference", "Request type", "request_type_code", "State", "state_code"]
    t3 = next(row for row in english if row[header.index("Subject")].startswith("T3"))
    assert (t3[header.index("Request type")], t3[header.index("request_type_code")]) == (
        "Access to personal information", "access")
    assert (t3[header.index("State")], t3[header.index("state_code")]) == ("Rejected", "rejected")
    korean = list(csv.reader(io.StringIO(client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode("utf-8-sig"))))
    assert korean[0][:3] == ["번호", "요청 유형", "request_type_code"]
    assert "개인정보 열람" in {row[1] for row in korean[1:]}
    figures = client.get("/api/v1/exports/figures/?from=2026-03-01&to=2026-03-15", HTTP_ACCEPT_LANGUAGE="en")
    rows = list(csv.DictReader(io.StringIO(figures.content.decode("utf-8-sig"))))
    rejected = next(r for r in rows if r["section_code"] == "overall" and r["metric_code"] == "rejected")
    assert (rejected["Section"], rejected["Metric"], rejected["Value"]) == ("Overall", "Rejected", "1")
    p90 = next(r for r in rows if r["metric_code"] == "first_response.p90_seconds" and r["section_code"] == "overall")
    assert p90["Metric"] == "First response · p90 (seconds)"
    by_type = next(r for r in rows if r["section_code"] == "request_type" and r["group_code"] == "access")
    assert by_type["Group"] == "Access to personal information"


def test_ticket_export_minimises_personal_data(dataset: DataSet, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    url = "/api/v1/exports/tickets/?from=2026-03-01&to=2026-03-15"
    response = token_client(dataset.manager).get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = [{_CODES.get(k, k): v for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]
    assert len(rows) == 7
    assert "person" not in text and "홍길동" not in text  # no requester identity, no message bodies
    t2 = next(r for r in rows if r["subject"].startswith("T2"))
    assert t2["on_time"] == "False" and t2["resolution_hours"] == "288.0"  # 12 days
    assert t2["received_at"] == "2026-03-03T10:00:00+09:00"
    # Managers may ask for addresses explicitly.
    with_emails = token_client(dataset.manager).get(url + "&include_emails=true").content.decode("utf-8-sig")
    assert "person1@example.com" in with_emails
    # Administrators: only their own tickets, and never addresses.
    admin_rows = [{_CODES.get(k, k): v for k, v in row.items()} for row in csv.DictReader(io.StringIO(
        token_client(dataset.b).get(url).content.decode("utf-8-sig")))]
    assert {r["subject"].split()[0] for r in admin_rows} == {"T3", "T4"}
    assert_error(token_client(dataset.b).get(url + "&include_emails=true"), 403, "permission_denied")


def test_xlsx_exports(dataset: DataSet, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    client = token_client(dataset.manager)
    response = client.get("/api/v1/exports/tickets/?from=2026-03-01&to=2026-03-15&file_format=xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("번호", "요청 유형", "request_type_code") and len(rows) == 8
    figures = client.get("/api/v1/exports/figures/?from=2026-03-01&to=2026-03-15&file_format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(figures.content)).active
    values = {(r[1], r[3], r[5]): r[6] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert values[("overall", None, "received")] == 7 or values[("overall", "", "received")] == 7
    csv_figures = client.get("/api/v1/exports/figures/?from=2026-03-01&to=2026-03-15").content.decode("utf-8-sig")
    found = {(r["section_code"], r["group_code"], r["metric_code"]): r["값"]
             for r in csv.DictReader(io.StringIO(csv_figures))}
    assert float(found[("overall", "", "first_response.p90_seconds")]) == pytest.approx(190080)
    assert found[("overall", "", "compliance_rate")] == "0.6"
    assert found[("request_type", "access", "received")] == "4"


def test_error_messages_speak_the_clients_language(make_ticket: Any, admin_user: User) -> None:
    ticket = make_ticket()
    client = token_client(admin_user)
    url = f"/api/v1/tickets/{ticket.reference}/transitions/verify/"
    for language, says in (("en", "Say how the requester's identity was verified."),
                           ("ko", "요청자의 본인 확인 방법을 선택하세요.")):
        error = assert_error(client.post(url, {}, format="json", HTTP_ACCEPT_LANGUAGE=language), 400, "guard_failed")
        assert error["fields"]["verification_method"] in (says, [says])
