"""Response templates: placeholders filled in server-side, unknown braces left alone."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.templates_render import render_response_template, rendered_choices

pytestmark = pytest.mark.django_db


def test_placeholders_in_both_languages(make_ticket: Any, response_template: Any) -> None:
    ticket = make_ticket(subject="열람 요청")
    due = ticket.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Seoul")).strftime("%Y-%m-%d")
    ko = render_response_template(response_template, ticket, "ko")
    assert ko == f"홍길동님, 요청({ticket.reference})에 답변드립니다. 기한: {due}. 제목: 열람 요청"
    en = render_response_template(response_template, ticket, "en")
    assert en.startswith(f"Dear 홍길동, here is the answer to {ticket.reference}, due {due}")
    assert en.endswith("{unknown}")


def test_choices_cover_type_specific_and_general_templates(make_ticket: Any, response_template: Any) -> None:
    from notifications.models import ResponseTemplate

    ResponseTemplate.objects.exclude(pk=response_template.pk).delete()  # not the seeded defaults (issue 28)
    ResponseTemplate.objects.create(name="Deletion only", request_type="deletion", body_ko="삭제", body_en="deleted")
    ResponseTemplate.objects.create(name="Retired", body_ko="x", body_en="x", is_active=False)
    labels = [c["label"] for c in rendered_choices(make_ticket(request_type="access"))]
    assert labels == ["Access answer (한국어)", "Access answer (English)"]
