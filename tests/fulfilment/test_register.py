"""The processing register (Decree 41(1) 2-5): strict file checks, the privacy policy's entries, and
the entries that concern the requester in the access package, its summary and the access notice."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from helpdesk import services
from helpdesk.fulfilment import services as fulfilment
from helpdesk.fulfilment.config import ConfigError
from helpdesk.fulfilment.management.commands.demo_data_sources import demo_register
from helpdesk.fulfilment.register import DEFAULT_REGISTER, entries_for, load_register, parse_register
from helpdesk.models import Ticket, User
from notifications.models import StatutoryNotice
from notifications.notices import local_day
from tests.fulfilment.conftest import crm_toml
from tests.notices.conftest import pdf_text

ENTRY = """
[[processing]]
name = "support"
purpose = { ko = "상담", en = "Support" }
retention = { ko = "3년", en = "3 years" }
"""


@pytest.mark.parametrize(("text", "message"), [
    ("", "declares no [[processing]] entry"),
    ("[[processing]]\nname = 'x'\n", "'purpose' is required"),
    (ENTRY + "colour = 'red'\n", "unknown key(s) ['colour']"),
    (ENTRY.replace(', en = "Support"', ""), "non-empty Korean and English text"),
    (ENTRY.replace('en = "3 years"', 'en = " "'), "non-empty Korean and English text"),
    (ENTRY + ENTRY, "declared twice"),
    (ENTRY + 'tables = ["customers"]\n', "\"source.table\" names"),
    (ENTRY + 'tables = ["billing.invoices"]\n', "source(s) ['billing']"),
    (ENTRY + "[[processing.processor]]\nname = 'Stibee'\n", "'work' is required"),
    (ENTRY + "[[processing.third_party]]\nname = 'X'\nwork = { ko = 'a', en = 'b' }\n", "unknown key(s) ['work']"),
    ("[processing\n", "not valid TOML"),
    ("title = 'register'\n" + ENTRY, "unknown top-level key(s) ['title']"),
    ("[[processing]]\nname = 'bad name!'\n", "'name' is required"),
])
def test_every_mistake_in_the_register_is_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_register(text, known_sources={"crm"})
    assert message in str(error.value)


def test_the_shipped_register_is_the_privacy_policys_sections_3_9_and_11() -> None:
    register = load_register(DEFAULT_REGISTER)
    text = json.dumps([line for entry in register for line in entry.lines()], ensure_ascii=False)
    for item in ("기술 지원과 가격 상담", "Technical support and consultation",  # §3 purposes
                 "소비자 불만 또는 분쟁 처리 기록 3년", "consumer complaints or dispute resolution 3 years",  # §9
                 "contract or subscription withdrawal 5 years", "website visits 3 months",
                 "Stibee Co., Ltd.", "Sending marketing e-mails and analysing newsletter subscriber data"):  # §11
        assert item in text
    assert [e.policy_section for e in register] == ["§3, §9", "§3, §11"]


def test_entries_apply_by_the_tables_the_requester_was_found_in() -> None:
    register = parse_register(demo_register(), known_sources={"demo-crm"})
    assert [e.name for e in entries_for({"demo-crm.customers"}, register)] == ["customer-support"]
    assert [e.name for e in entries_for({"demo-crm.newsletter", "demo-crm.orders"}, register)] == [
        "customer-support", "marketing"]
    assert entries_for(set(), register) == []


def test_access_package_summary_and_notice_carry_the_requesters_entries(
        use_sources: Callable[[str], Path], crm_db: Path, verified_ticket: Callable[..., Ticket], admin_user: User,
        django_capture_on_commit_callbacks: Any) -> None:
    sources = use_sources(crm_toml(crm_db))
    sources.with_name("processing_register.toml").write_text(ENTRY.replace('"support"', '"support"\ntables = '
                                                                           '["crm.customers"]') + """
[[processing]]
name = "newsletter"
tables = ["crm.newsletter"]
purpose = { ko = "뉴스레터 발송", en = "Sending the newsletter" }
retention = { ko = "구독 해지 시까지", en = "Until you unsubscribe" }
consent = { ko = "뉴스레터 수신 동의", en = "Consent to the newsletter" }
[[processing.processor]]
name = "Stibee Co., Ltd."
work = { ko = "메일 발송", en = "Sending the mail" }
[[processing]]
name = "events"
tables = ["crm.event_guests"]
purpose = { ko = "행사 안내", en = "Event invitations" }
retention = { ko = "1년", en = "1 year" }
""", encoding="utf-8")
    ticket = verified_ticket("access", email="requester@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    package = fulfilment.build_access_package(ticket=ticket, actor=admin_user)
    with package.file.open("rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    data = json.loads(archive.read("data.json"))
    assert [e["name"] for e in data["processing"]] == ["support", "newsletter"]  # not "events": not found there
    summary = archive.read("summary.html").decode()
    assert "Sending the newsletter" in summary and "뉴스레터 발송" in summary and "Stibee Co., Ltd." in summary
    assert "Event invitations" not in summary
    reviewer = Client()
    reviewer.force_login(admin_user)
    review = reviewer.get(reverse("fulfilment:review_package", kwargs={"reference": ticket.reference,
                                                                        "pk": package.pk})).content.decode()
    assert "Sending the newsletter" in review and "뉴스레터 발송" in review  # what the requester will get
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.release_access_package(package=package, actor=admin_user)
        services.transition_ticket(ticket=ticket, name="process", actor=admin_user, note="사본 제공")
        services.send_reply(ticket=ticket, author=admin_user, body_text="사본을 내려받으세요.", and_respond=True)
    notice = StatutoryNotice.objects.get(ticket=ticket)
    [sent] = [m for m in mail.outbox if m.attachments]
    text = "".join(pdf_text(sent.attachments[0][1]).split())
    for item in ("처리목적:뉴스레터발송", "Purpose:Sendingthenewsletter", "보유기간:구독해지시까지",
                 "동의사항:뉴스레터수신동의", "처리위탁:StibeeCo.,Ltd.", "Entrustedto:StibeeCo.,Ltd.",
                 "crm·customers:1", "crm·newsletter:1record(s)"):
        assert item in text
    assert "Eventinvitations" not in text
    package.refresh_from_db()
    assert notice.inputs["available_from"] == local_day(package.released_at)
    assert notice.inputs["available_until"] == local_day(package.expires_at)
