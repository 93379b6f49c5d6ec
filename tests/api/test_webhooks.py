"""Outgoing webhooks against a real HTTP receiver on loopback: signed, minimal, retried, never lost."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from helpdesk import services
from helpdesk.intake.batch import ingest_messages
from notifications import webhooks
from notifications.models import WebhookDelivery, WebhookEndpoint, WebhookStatus
from notifications.tasks import retry_webhooks
from tests.intake_e2e.mailgen import generate

pytestmark = pytest.mark.django_db


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.answer)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [json.loads(r["body"])["event"] for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()


@pytest.fixture
def endpoint(receiver: Receiver) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name="case system", url=receiver.url)


def test_ticket_events_are_posted_signed_and_without_personal_data(
    endpoint: WebhookEndpoint, receiver: Receiver, make_ticket: Any, manager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ticket = make_ticket(email="hong@example.com", body="제 주민등록번호는 ...")
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket=ticket, name="verify", actor=manager, verification_method="id_document")
        services.record_ticket_view(ticket=ticket, actor=manager)  # an access record, not an event
    assert receiver.events()[:1] == ["ticket.created"]
    assert "transition.verify" in receiver.events()
    assert "ticket.viewed" not in receiver.events()
    for request in receiver.requests:
        headers, body = request["headers"], request["body"]
        assert headers["X-Privacy-Desk-Signature"] == webhooks.signature(
            endpoint.secret, headers["X-Privacy-Desk-Timestamp"], body)
        assert "hong@example.com" not in body and "주민등록번호" not in body and "홍길동" not in body
    verify = next(json.loads(r["body"]) for r in receiver.requests if "transition.verify" in r["body"])
    assert verify["ticket"]["reference"] == ticket.reference
    assert (verify["from_state"], verify["to_state"], verify["ticket"]["state"]) == ("received", "verified", "verified")
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {WebhookStatus.DELIVERED}


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    endpoint: WebhookEndpoint, receiver: Receiver, make_ticket: Any
) -> None:
    receiver.answer = 500
    make_ticket()
    first = WebhookDelivery.objects.get(event="ticket.created")
    assert (first.status, first.attempts, first.last_error) == (WebhookStatus.PENDING, 1, "HTTP 500")
    assert first.next_attempt_at > timezone.now()
    assert retry_webhooks() == 0  # not due yet: nothing is sent twice
    receiver.answer = 200
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert retry_webhooks() >= 1
    first.refresh_from_db()
    assert (first.status, first.attempts, first.last_error) == (WebhookStatus.DELIVERED, 2, "")
    assert receiver.events().count("ticket.created") == 2


def test_a_receiver_that_never_answers_is_given_up_after_the_last_attempt(
    endpoint: WebhookEndpoint, receiver: Receiver, make_ticket: Any
) -> None:
    receiver.answer = 503
    make_ticket()
    delivery = WebhookDelivery.objects.get(event="ticket.created")
    for hours in range(1, webhooks.MAX_ATTEMPTS + 2):
        with time_machine.travel(timezone.now() + timedelta(hours=hours)):
            retry_webhooks()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookStatus.FAILED, webhooks.MAX_ATTEMPTS)


def test_filters_inactive_endpoints_and_rolled_back_work_send_nothing(
    receiver: Receiver, make_ticket: Any, manager: Any
) -> None:
    WebhookEndpoint.objects.create(name="off", url=receiver.url, is_active=False)
    only_transitions = WebhookEndpoint.objects.create(name="transitions", url=receiver.url, events=["transition."])
    ticket = make_ticket()
    assert not WebhookDelivery.objects.exists()  # created/assigned are not what it asked for
    with pytest.raises(services.GuardError):
        services.transition_ticket(ticket=ticket, name="verify", actor=manager)  # rolled back
    assert not WebhookDelivery.objects.exists()
    services.transition_ticket(ticket=ticket, name="verify", actor=manager, verification_method="id_document")
    assert list(WebhookDelivery.objects.values_list("endpoint", "event")) == [
        (only_transitions.pk, "transition.verify")]


def test_mail_filed_in_bulk_is_reported_too(endpoint: WebhookEndpoint, receiver: Receiver, make_admin: Any,
                                            django_capture_on_commit_callbacks: Any) -> None:
    make_admin("moonwon.park")
    items = [(raw, str(n)) for n, raw in enumerate(generate(20, run="webhooks")) if b"In-Reply-To" not in raw]
    with django_capture_on_commit_callbacks(execute=True):
        results = list(ingest_messages(items))
    created = {json.loads(r["body"])["ticket"]["reference"] for r in receiver.requests
               if json.loads(r["body"])["event"] == "ticket.created"}
    assert created == {r.ticket_reference for r in results}


def test_tests_use_a_cache_of_their_own_process_empty_for_each_test() -> None:
    """Under pytest-xdist every worker used the file cache under var/: one worker's "no endpoints"
    flag hid the endpoint another worker's test had just made (a flaky test). Now each process has
    its own memory cache, cleared for each test."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    assert isinstance(caches["default"], LocMemCache)
    assert caches["default"].get(webhooks._CACHE_KEY) is None
    caches["default"].set(webhooks._CACHE_KEY, False)  # what the next test must not see (it clears it)
