"""Issue 31, point 2: ``POST /api/v1/tickets/bulk/`` (contract) and the job URL to poll."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from rest_framework.test import APIClient

from helpdesk.models import AuditEvent, BulkJob, Ticket, User
from notifications.models import ResponseTemplate
from workflows.roles import AUDITOR_GROUP

URL = "/api/v1/tickets/bulk/"


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def tickets(make_ticket: Callable[..., Ticket], admin_user: User) -> list[Ticket]:
    return [make_ticket(email=f"api{i}@example.com", request_type="access" if i % 2 else "deletion")
            for i in range(6)]


def post(client: APIClient, body: dict[str, Any], capture: Any) -> Any:
    with capture(execute=True):  # the job is enqueued after commit; in-process it runs right there
        return client.post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")


def test_by_filter_returns_202_and_a_job_url_with_progress_and_summary(
        tickets: list[Ticket], manager: User, other_admin: User, django_capture_on_commit_callbacks: Any) -> None:
    client = api(manager)
    response = post(client, {"action": "assign", "filter": {"request_type": "access"},
                             "assignee": other_admin.username}, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"] == body["url"] == f"/api/v1/bulk-jobs/{body['id']}/"
    polled = client.get(body["url"]).json()
    assert polled["status"] == "done"
    assert polled["progress"] == {"pending": 0, "done": 3, "skipped": 0, "failed": 0, "total": 3}
    assert polled["selection"] == {"filter": {"request_type": "access"}}
    access = [t for t in tickets if t.request_type == "access"]
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in access]).values_list("assignee__username", flat=True)) \
        == {other_admin.username}
    assert Ticket.objects.filter(request_type="deletion", assignee=other_admin).count() == 0


def test_by_hand_with_a_template_and_the_problems_reported(
        tickets: list[Ticket], manager: User, django_capture_on_commit_callbacks: Any) -> None:
    template = ResponseTemplate.objects.create(name="Deletion only", request_type="deletion",
                                               body_ko="{reference} 삭제 요청 접수", body_en="{reference} received")
    mail.outbox.clear()
    refs = [t.reference for t in tickets[:4]]
    response = post(api(manager), {"action": "reply", "tickets": [r.lower() for r in refs],
                                   "template": template.pk}, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.json()
    job = api(manager).get(response.json()["url"]).json()
    assert job["progress"]["done"] == 2 and job["progress"]["skipped"] == 2
    assert {p["ticket"] for p in job["problems"]} == {t.reference for t in tickets[:4] if t.request_type == "access"}
    assert all(p["reason"] == "template: This template is for another type of request." for p in job["problems"])
    assert len(mail.outbox) == 2
    assert AuditEvent.objects.filter(action="reply.sent").count() == 2


@pytest.mark.parametrize("body, field", [
    ({"action": "assign"}, "tickets"),
    ({"action": "assign", "tickets": ["PRIV-1999-0001"], "assignee": None}, "tickets"),
    ({"action": "extend", "tickets": [], "reason": ""}, None),
    ({"action": "reply", "filter": {"state": "nonsense"}, "template": 1}, "filter.state"),
    ({"action": "fly", "tickets": ["x"]}, "action"),
])
def test_invalid_requests_are_400_with_field_errors(tickets: list[Ticket], manager: User, body: dict[str, Any],
                                                    field: str | None) -> None:
    response = api(manager).post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    if field:
        assert field in response.json()["error"]["fields"]
    assert not BulkJob.objects.exists()


def test_auditors_and_administrators_reassigning_are_refused(tickets: list[Ticket], admin_user: User,
                                                              other_admin: User, db: Any) -> None:
    auditor = User.objects.create_user(username="auditor", password="x-Very-long-password-1")
    auditor.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    refused = api(auditor).post(URL, {"action": "extend", "tickets": [tickets[0].reference], "reason": "r"},
                                format="json")
    assert refused.status_code == 403
    reassign = api(admin_user).post(URL, {"action": "assign", "tickets": [tickets[0].reference],
                                          "assignee": other_admin.username}, format="json")
    assert reassign.status_code == 403 and reassign.json()["error"]["code"] == "permission_denied"
    assert not BulkJob.objects.exists()


def test_a_job_is_visible_to_its_creator_and_managers_only(
        tickets: list[Ticket], admin_user: User, other_admin: User, manager: User,
        django_capture_on_commit_callbacks: Any) -> None:
    response = post(api(admin_user), {"action": "extend", "tickets": [tickets[0].reference], "reason": "폭증"},
                    django_capture_on_commit_callbacks)
    assert response.status_code == 202
    url = response.json()["url"]
    assert api(admin_user).get(url).status_code == 200
    assert api(manager).get(url).status_code == 200
    assert api(other_admin).get(url).status_code == 404


def test_the_operation_is_in_the_openapi_schema(admin_user: User) -> None:
    schema = api(admin_user).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/tickets/bulk/"]["post"]
    assert set(operation["responses"]) >= {"202", "400", "403"}
    assert "/api/v1/bulk-jobs/{id}/" in schema["paths"]
    request = schema["components"]["schemas"]["BulkRequestRequest"]
    assert {"action", "tickets", "filter", "assignee", "template", "reason", "into"} <= set(request["properties"])


def test_close_as_duplicate_through_the_api(make_ticket: Callable[..., Ticket], admin_user: User, manager: User,
                                            django_capture_on_commit_callbacks: Any) -> None:
    into, *duplicates = [make_ticket(email="same@example.com") for _ in range(3)]
    response = post(api(manager), {"action": "close_duplicate", "tickets": [t.reference for t in duplicates],
                                   "into": into.reference}, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.json()
    assert api(manager).get(response.json()["url"]).json()["progress"]["done"] == 2
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in duplicates]).values_list("merged_into", flat=True)) == {
        into.pk}
