"""The desk through Django's test client: sign-in, queues, the ticket page, acting, permissions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from helpdesk import services
from helpdesk.models import AuditEvent, Direction, Message, Ticket, User
from workflows.states import TicketState as S

pytestmark = pytest.mark.django_db


def ticket_url(ticket: Ticket, route: str = "desk:ticket", **kwargs: Any) -> str:
    return reverse(route, kwargs={"reference": ticket.reference, **kwargs})


# --- Sign-in ------------------------------------------------------------------------------------
def test_anonymous_users_are_sent_to_sign_in(make_ticket: Any, admin_user: Any) -> None:
    ticket = make_ticket()
    attachment_url = reverse("desk:attachment", kwargs={"pk": 1})
    for url in (reverse("desk:queue"), ticket_url(ticket), attachment_url, reverse("desk:quarantine")):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("desk:login"))
    response = Client().post(ticket_url(ticket, "desk:note"), {"body_text": "x"})
    assert response.status_code == 302 and not Message.objects.filter(direction=Direction.NOTE).exists()


def test_sign_in_and_out(client: Any, admin_user: Any) -> None:
    page = client.get(reverse("desk:login"))
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post(reverse("desk:login"), {"username": "moonwon.park", "password": "x-Very-long-password-1"})
    assert response.status_code == 302 and response["Location"] == reverse("desk:queue")
    assert client.get(reverse("desk:queue")).status_code == 200
    assert client.get(reverse("desk:logout")).status_code == 405  # only POST signs out
    client.post(reverse("desk:logout"))
    assert client.get(reverse("desk:queue")).status_code == 302


def test_login_is_throttled_by_username_and_ip(client: Any, admin_user: Any, settings: Any) -> None:
    settings.AXES_ENABLED = True
    url = reverse("desk:login")
    for _ in range(4):
        assert client.post(url, {"username": "moonwon.park", "password": "wrong"}).status_code == 200
    assert client.post(url, {"username": "moonwon.park", "password": "wrong"}).status_code == 429  # 5th: locked
    locked = client.post(url, {"username": "moonwon.park", "password": "x-Very-long-password-1"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert korean("Too many failed sign-in attempts") in locked.content.decode()  # the desk's default language
    # Another account from the same address is not locked (username + IP together).
    from helpdesk.models import User

    User.objects.create_user(username="other.person", password="x-Very-long-password-1")
    assert client.post(url, {"username": "other.person", "password": "x-Very-long-password-1"}).status_code == 302


def test_non_staff_account_is_refused(client: Any, db: Any) -> None:
    from helpdesk.models import User

    user = User.objects.create_user(username="someone", password="x-Very-long-password-1")
    client.force_login(user)
    assert client.get(reverse("desk:queue")).status_code == 403


# --- Queues -------------------------------------------------------------------------------------
def test_queue_counts_and_visibility(make_ticket: Any, admin_user: Any, make_admin: Any, manager: Any,
                                     client_for: Any, settings: Any) -> None:
    mine = make_ticket(subject="mine")  # the only administrator gets it
    other = make_admin("hyojoon.shim")
    services.set_away(user=admin_user, away=True, actor=admin_user)
    theirs = make_ticket(subject="theirs", email="b@example.com")
    assert theirs.assignee == other
    services.set_away(user=other, away=True, actor=other)
    unassigned = make_ticket(subject="nobody's", email="c@example.com")
    assert unassigned.assignee is None
    # Overdue: move the deadline into the past directly (test set-up, not a desk action).
    Ticket.objects.filter(pk=mine.pk).update(due_at=timezone.now() - timedelta(days=1))
    Ticket.objects.filter(pk=unassigned.pk).update(due_at=timezone.now() + timedelta(days=2))

    from helpdesk import selectors

    counts = selectors.queue_counts(admin_user)
    assert counts["mine"] == 1 and counts["unassigned"] == 1 and counts["overdue"] == 1
    # The other administrator is away: their ticket is covered (DESK_COVER_AWAY_COLLEAGUES, on by default).
    assert counts["due-soon"] == 1 and counts["all"] == 3
    assert selectors.queue_counts(manager)["all"] == 3
    settings.DESK_COVER_AWAY_COLLEAGUES = False
    counts = selectors.queue_counts(User.objects.get(pk=admin_user.pk))
    assert counts["all"] == 2  # not the other administrator's ticket

    client = client_for(admin_user)
    page = client.get(reverse("desk:queue_named", kwargs={"slug": "all"}))
    assert page.status_code == 200
    assert mine.reference.encode() in page.content and unassigned.reference.encode() in page.content
    assert theirs.reference.encode() not in page.content
    due_soon = client.get(reverse("desk:queue_named", kwargs={"slug": "due-soon"}))
    assert unassigned.reference.encode() in due_soon.content and mine.reference.encode() not in due_soon.content
    assert client.get(reverse("desk:queue_named", kwargs={"slug": "nope"})).status_code == 404
    assert theirs.reference.encode() in client_for(manager).get(
        reverse("desk:queue_named", kwargs={"slug": "all"})).content


def test_queue_filters_search_and_sort(make_ticket: Any, admin_user: Any, client_for: Any) -> None:
    a = make_ticket(subject="열람 요청", request_type="access", email="kim@example.com")
    b = make_ticket(subject="삭제 요청", request_type="deletion", email="lee@example.com",
                    body="회원 탈퇴와 삭제를 원합니다")
    client = client_for(admin_user)
    url = reverse("desk:queue_named", kwargs={"slug": "all"})
    page = client.get(url, {"request_type": "deletion"})
    assert b.reference.encode() in page.content and a.reference.encode() not in page.content
    assert a.reference.encode() in client.get(url, {"search": a.reference}).content
    found = client.get(url, {"search": "lee@"})
    assert b.reference.encode() in found.content and a.reference.encode() not in found.content
    by_text = client.get(url, {"search": "탈퇴"})
    assert b.reference.encode() in by_text.content and a.reference.encode() not in by_text.content
    assert client.get(url, {"state": "responded"}).context["page"].paginator.count == 0
    assert client.get(url, {"channel": "web"}).context["page"].paginator.count == 2
    assert client.get(url, {"assignee": "none"}).context["page"].paginator.count == 0
    assert client.get(url, {"assignee": str(admin_user.pk)}).context["page"].paginator.count == 2
    Ticket.objects.filter(pk=a.pk).update(due_at=b.due_at + timedelta(days=1))
    refs = [t.reference for t in client.get(url, {"sort": "-due"}).context["page"].object_list]
    assert refs == [a.reference, b.reference]
    refs = [t.reference for t in client.get(url, {"sort": "due"}).context["page"].object_list]
    assert refs == [b.reference, a.reference]


@pytest.mark.postgres
def test_full_text_search_uses_prefixes_on_postgresql(make_ticket: Any, admin_user: Any, client_for: Any) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL full-text search")
    hit = make_ticket(subject="문의", body="제 개인정보 열람을 요청합니다")
    make_ticket(subject="다른 문의", body="마케팅 수신 거부", email="z@example.com")
    page = client_for(admin_user).get(reverse("desk:queue_named", kwargs={"slug": "all"}), {"search": "열람"})
    assert [t.reference for t in page.context["page"].object_list] == [hit.reference]


@pytest.mark.postgres
def test_full_text_search_uses_the_index_that_leaves_out_the_desks_own_mail(make_ticket: Any, monkeypatch: Any
                                                                           ) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from helpdesk import selectors

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL full-text search")
    make_ticket(subject="문의", body="제 개인정보 열람을 요청합니다")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'helpdesk_message' AND indexdef LIKE "
                       "'%%USING gin%%'")
        predicate = "((kind)::text <> ALL ((ARRAY['acknowledgement'::character varying, " \
                    "'notice'::character varying])::text[]))"
        assert [row[0].split(" WHERE ")[1] for row in cursor.fetchall()] == [predicate]
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is tiny; ask whether it can be used
        # Both forms of the search: the bounded query of matching ids, and the condition per ticket.
        with CaptureQueriesContext(connection) as bounded:
            selectors.search_filter("열람 요청")
        monkeypatch.setattr(selectors, "SEARCH_FEW", 0)
        condition = Ticket.objects.filter(selectors.search_filter("열람 요청")).values("id").query.sql_with_params()
        for sql, params in [(bounded[0]["sql"], None), condition]:
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Bitmap Index Scan on message_search_gin" in plan, plan


# --- The ticket page ------------------------------------------------------------------------------
def test_ticket_page_shows_one_timeline_and_logs_the_view(make_ticket: Any, admin_user: Any, client_for: Any,
                                                         add_messages: Any) -> None:
    ticket = make_ticket()
    add_messages(ticket, 1)
    services.add_note(ticket=ticket, author=admin_user, body_text="내부 메모: 신분증 확인 필요")
    services.transition_ticket(ticket=ticket, name="verify", actor=admin_user, verification_method="id_document")
    client = client_for(admin_user)
    with translation.override("en"):
        page = client.get(ticket_url(ticket))
    assert page.status_code == 200
    body = page.content.decode()
    # Inbound mail, the acknowledgement (outbound), the note and the state change, in order.
    expected = ("제 개인정보 열람을 요청합니다", "추가 자료 0", "내부 메모", "verified the requester's identity")
    positions = [body.index(text) for text in expected]
    assert positions == sorted(positions)
    assert "KST" in body and "id-0.pdf" in body
    assert AuditEvent.objects.filter(ticket=ticket, action="ticket.viewed").count() == 1
    client.get(ticket_url(ticket))
    assert AuditEvent.objects.filter(ticket=ticket, action="ticket.viewed").count() == 1  # once per 10 minutes


def test_html_bodies_are_shown_sanitized(make_ticket: Any, admin_user: Any, client_for: Any) -> None:
    ticket = make_ticket()
    # Even if a bad body_html got stored, the page cleans it again.
    Message.objects.filter(ticket=ticket, direction=Direction.INBOUND).update(
        body_html='<p>hello</p><script>alert("x")</script><img src=x onerror="alert(1)">',
        body_text="<b>plain</b>")
    body = client_for(admin_user).get(ticket_url(ticket)).content.decode()
    assert "<script>alert" not in body and "onerror" not in body
    assert "&lt;b&gt;plain&lt;/b&gt;" in body


def test_only_allowed_transitions_are_offered(make_ticket: Any, admin_user: Any, client_for: Any) -> None:
    ticket = make_ticket()
    page = client_for(admin_user).get(ticket_url(ticket))
    offered = [s.name for s in page.context["steps"] if s.runnable]
    assert offered == ["verify", "request_info", "reject", "withdraw"]


def test_work_a_ticket_through_the_desk(make_ticket: Any, admin_user: Any, client_for: Any,
                                        django_capture_on_commit_callbacks: Any, response_template: Any) -> None:
    ticket = make_ticket()
    client = client_for(admin_user)
    mail.outbox.clear()

    def post(name: str, data: dict[str, Any], prefix: str | None = None) -> Any:
        ticket.refresh_from_db()
        payload = {f"{prefix}-{k}" if prefix else k: v for k, v in {**data, "version": ticket.version}.items()}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(name, payload)

    r = post(ticket_url(ticket, "desk:transition", name="verify"),
             {"verification_method": "id_document", "note": "여권 확인"}, prefix="verify")
    assert r.status_code == 302
    r = post(ticket_url(ticket, "desk:transition", name="process"), {"note": "자료 추출 완료"}, prefix="process")
    assert r.status_code == 400  # an access request: the package must be released or the manual work explained
    blocked = next(s for s in r.context["steps"] if s.name == "process")
    assert blocked.form is None and blocked.why_not  # not offered as a form that fails: it says why
    r = post(reverse("fulfilment:manual", args=[ticket.reference]), {"reason": "열람 자료를 수작업으로 추출했습니다."})
    assert r.status_code == 302
    r = post(ticket_url(ticket, "desk:transition", name="process"), {"note": ""}, prefix="process")
    assert r.status_code == 400
    process_form = next(s.form for s in r.context["steps"] if s.name == "process")
    assert "note" in process_form.errors and process_form.is_bound
    assert process_form.errors["note"] == [korean("This field is required.")]
    r = post(ticket_url(ticket, "desk:transition", name="process"), {"note": "자료 추출 완료"}, prefix="process")
    assert r.status_code == 302
    page = client.get(ticket_url(ticket) + f"?template={response_template.pk}:ko")
    filled = page.context["reply_form"].initial["body_text"]
    assert ticket.reference in filled and "홍길동님" in filled
    r = post(ticket_url(ticket, "desk:reply"), {"body_text": filled, "and_respond": "1"})
    assert r.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == S.RESPONDED
    sent = [m for m in mail.outbox if ticket.reference in m.subject and "Request received" not in m.subject]
    assert len(sent) == 1 and sent[0].body == filled and sent[0].extra_headers["In-Reply-To"]


def test_notes_are_never_mailed(make_ticket: Any, admin_user: Any, client_for: Any,
                                django_capture_on_commit_callbacks: Any) -> None:
    ticket = make_ticket()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        r = client_for(admin_user).post(ticket_url(ticket, "desk:note"),
                                        {"body_text": "internal only", "version": ticket.version})
    assert r.status_code == 302 and mail.outbox == []
    assert Message.objects.filter(ticket=ticket, direction=Direction.NOTE, body_text="internal only").exists()


def test_conflict_gives_a_clear_message_and_keeps_the_text(make_ticket: Any, admin_user: Any, manager: Any,
                                                           client_for: Any) -> None:
    ticket = make_ticket()
    seen = ticket.version
    services.add_note(ticket=ticket, author=manager, body_text="manager was here")  # bumps the version
    r = client_for(admin_user).post(ticket_url(ticket, "desk:reply"),
                                    {"body_text": "my carefully typed answer", "version": seen})
    assert r.status_code == 409
    body = r.content.decode()
    assert korean("Someone else changed this ticket while you were working on it. Their change is shown below; "
                  "what you typed is kept — check it and submit again.") in body
    assert "my carefully typed answer" in body
    ticket.refresh_from_db()
    assert f'value="{ticket.version}"' in body  # resubmitting after review is possible
    # The language switch and away button return to the ticket page, not to the POST-only URL.
    assert f'name="next" value="{ticket_url(ticket)}"' in body
    assert not Message.objects.filter(body_text="my carefully typed answer").exists()


def test_reclassify_recomputes_deadline_and_audits(make_ticket: Any, admin_user: Any, client_for: Any) -> None:
    ticket = make_ticket(request_type="inquiry")
    r = client_for(admin_user).post(ticket_url(ticket, "desk:reclassify"),
                                    {"request_type": "complaint", "version": ticket.version})
    assert r.status_code == 302
    ticket.refresh_from_db()
    assert ticket.request_type == "complaint"
    assert AuditEvent.objects.filter(ticket=ticket, action="ticket.reclassified").exists()


def test_take_reassign_and_away(make_ticket: Any, make_admin: Any, manager: Any, client_for: Any) -> None:
    ticket = make_ticket()
    assert ticket.assignee is None
    taker = make_admin("taker")
    r = client_for(taker).post(ticket_url(ticket, "desk:take"), {"version": ticket.version})
    assert r.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == taker
    other = make_admin("other")
    r = client_for(other).post(ticket_url(ticket, "desk:assign"), {"assignee": other.pk, "version": ticket.version})
    assert r.status_code == 403  # the ticket is not visible/actionable for them
    r = client_for(manager).post(ticket_url(ticket, "desk:assign"), {"assignee": other.pk, "version": ticket.version})
    assert r.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == other
    r = client_for(other).post(reverse("desk:away"), {"away": "1", "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == reverse("desk:queue")
    other.refresh_from_db()
    assert other.is_away
    assert AuditEvent.objects.filter(action="staff.away", data__user="other").exists()


# --- Permissions ----------------------------------------------------------------------------------
def test_administrator_cannot_see_act_or_download_outside_their_rights(
        make_ticket: Any, admin_user: Any, make_admin: Any, manager: Any, client_for: Any, add_messages: Any) -> None:
    ticket = make_ticket()
    add_messages(ticket, 1)
    assert ticket.assignee == admin_user
    intruder = client_for(make_admin("intruder"))
    attachment = ticket.messages.get(body_text="추가 자료 0").attachments.get()
    raw = ticket.messages.get(body_text="추가 자료 0")
    assert intruder.get(ticket_url(ticket)).status_code == 403
    assert intruder.post(ticket_url(ticket, "desk:transition", name="verify"),
                         {"verify-verification_method": "id_document", "verify-version": ticket.version}
                         ).status_code == 403
    assert intruder.post(ticket_url(ticket, "desk:reply"), {"body_text": "x", "version": ticket.version}
                         ).status_code == 403
    assert intruder.get(reverse("desk:attachment", kwargs={"pk": attachment.pk})).status_code == 403
    assert intruder.get(reverse("desk:raw_message", kwargs={"pk": raw.pk})).status_code == 403
    ticket.refresh_from_db()
    assert ticket.state == S.RECEIVED

    for allowed in (client_for(admin_user), client_for(manager)):
        response = allowed.get(reverse("desk:attachment", kwargs={"pk": attachment.pk}))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == b"%PDF-1.4 test"
        raw_response = allowed.get(reverse("desk:raw_message", kwargs={"pk": raw.pk}))
        assert raw_response.status_code == 200 and raw_response["Content-Disposition"].startswith("attachment")
        assert b"".join(raw_response.streaming_content) == b"From: x@example.com\r\n\r\nbody"  # from its row
    assert AuditEvent.objects.filter(ticket=ticket, action="attachment.downloaded").count() == 2
    r = client_for(manager).post(ticket_url(ticket, "desk:transition", name="verify"),
                                 {"verify-verification_method": "id_document", "verify-version": ticket.version})
    assert r.status_code == 302


def test_unassigned_ticket_is_visible_but_not_actionable_until_taken(make_ticket: Any, make_admin: Any,
                                                                      client_for: Any) -> None:
    ticket = make_ticket()
    admin = make_admin("late.joiner")
    page = client_for(admin).get(ticket_url(ticket))
    assert page.status_code == 200 and page.context["steps"] == [] and page.context["can_take"]


def test_deadline_extension_form(make_ticket: Any, admin_user: Any, client_for: Any,
                                 django_capture_on_commit_callbacks: Any) -> None:
    ticket = make_ticket()
    before = ticket.due_at
    client = client_for(admin_user)
    assert client.get(ticket_url(ticket)).context["extend_form"] is not None
    r = client.post(ticket_url(ticket, "desk:extend"), {"reason": "", "version": ticket.version})
    assert r.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(ticket_url(ticket, "desk:extend"), {"reason": "자료가 방대합니다", "version": ticket.version})
    assert r.status_code == 302
    ticket.refresh_from_db()
    assert ticket.due_at > before and ticket.extension_count == 1


def korean(text: str) -> str:
    """The Korean the desk shows for an English msgid (the desk's default language is Korean)."""
    from django.utils import translation

    with translation.override("ko"):
        translated = translation.gettext(text)
    assert translated != text, f"no Korean translation for {text!r}"
    return translated
