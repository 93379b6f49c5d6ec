"""Statutory notices as documents: their inputs, their bilingual HTML and the PDF made from it.

A notice is rendered only from its ``inputs`` (a JSON object stored with it), so the same inputs
give the same document, byte for byte: the stored PDF can be checked against a fresh rendering.
Korean comes first (the Decree's language), English alongside for every requester.
Which notice an outcome needs is :func:`workflows.notices.notice_for`; storing and sending it is
``helpdesk.services.notices``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.template import Context
from django.utils import timezone, translation

from helpdesk.models import FeeQuote, Ticket
from notifications import notice_texts as texts
from notifications.mail import mail_templates
from workflows.notices import ARTICLES, OUTSIDE_REMEDIES, NoticeKind, family_of
from workflows.request_types import RequestType
from workflows.states import RejectionReason

Row = tuple[str, list[str]]


def local_day(moment: datetime | None) -> str:
    """A moment's date in the desk's time zone, as ISO text (what the inputs keep)."""
    return timezone.localtime(moment).date().isoformat() if moment else ""


def notice_inputs(ticket: Ticket, kind: str, *, issued_at: datetime, **details: Any) -> dict[str, Any]:
    """Everything the notice shows: the ticket's facts now, and the outcome's ``details``."""
    return {
        "kind": str(kind),
        "reference": ticket.reference,
        "requester_name": ticket.requester.name,
        "requester_email": ticket.requester.email,
        "request_type": ticket.request_type,
        "received_on": local_day(ticket.received_at),
        "issued_on": local_day(issued_at),
        "fee": fee_line(ticket),
        **details,
    }


def fee_line(ticket: Ticket) -> dict[str, str] | None:
    """The fee and postage quoted to the requester (Decree 47), as the notice states them."""
    quote = FeeQuote.objects.filter(ticket=ticket).order_by("-quoted_at", "-id").first()
    if quote is None:
        return None
    if quote.company_cause:
        return {"ko": f"없음 (회사에 사유가 있는 요구, 시행령 제47조제2항) — {quote.basis}",
                "en": f"None (the request was caused by the company, Enforcement Decree Art. 47(2)) — {quote.basis}"}
    if not quote.total:
        return {"ko": f"없음 — {quote.basis}", "en": f"None — {quote.basis}"}
    return {"ko": f"수수료 {quote.fee:,}원, 우송료 {quote.postage:,}원 (합계 {quote.total:,}원) — {quote.basis}",
            "en": f"Fee KRW {quote.fee:,}, postage KRW {quote.postage:,} (total KRW {quote.total:,}) — {quote.basis}"}


def _day(value: str, language: str) -> str:
    if not value:
        return "—"
    day = date.fromisoformat(value[:10])
    return f"{day.year}년 {day.month}월 {day.day}일" if language == "ko" else f"{day.day} {day:%B} {day.year}"


def _label(choices: Any, value: str, language: str) -> str:
    with translation.override(language):
        return str(choices(value).label) if value in choices.values else value


def _rows(inputs: dict[str, Any], language: str) -> list[Row]:
    """The items the Decree lists for this kind of notice, in one language."""
    kind = inputs["kind"]
    labels = {key: value[language] for key, value in texts.LABELS.items()}
    name = inputs["requester_name"]
    rows: list[Row] = [
        (labels["subject"], [f"{name} <{inputs['requester_email']}>" if name else inputs["requester_email"]]),
        (labels["reference"], [inputs["reference"]]),
        (labels["request"], [_label(RequestType, inputs["request_type"], language)]),
        (labels["received"], [_day(inputs["received_on"], language)]),
    ]
    if kind in (NoticeKind.ACCESS_GRANTED, NoticeKind.ACCESS_PARTIAL):
        items = [texts.RECORDS[language].format(**item) for item in inputs.get("items", [])]
        if inputs.get("by_hand"):
            items = [texts.BY_HAND[language]]
        rows.append((labels["items"], items or [texts.NO_RECORDS[language]]))
        rows.append((labels["register"], [entry[language] for entry in inputs.get("register", [])]
                     or [texts.REGISTER_SEE_SUMMARY[language]]))
        start, end = inputs.get("available_from", ""), inputs.get("available_until", "")
        rows.append((labels["when"], [texts.AVAILABLE[language].format(start=_day(start, language),
                                                                       end=_day(end, language))
                                      if start and end else texts.AVAILABLE_NOW[language]]))
        how = texts.HOW_BY_HAND if inputs.get("by_hand") else texts.HOW_DOWNLOAD
        rows.append((labels["how"], [how[language]]))
    if kind == NoticeKind.ACCESS_PARTIAL:
        rows.append((labels["withheld"], [inputs.get("withheld", "")]))
    if kind in (NoticeKind.ACCESS_PARTIAL, NoticeKind.ACCESS_REFUSED, NoticeKind.CORRECTION_DELETION_REFUSED,
                NoticeKind.SUSPENSION_REFUSED, NoticeKind.AUTOMATED_REFUSED):
        reason = inputs.get("reason", "")
        rows.append((labels["reason"], [_label(RejectionReason, reason, language)]))
        if inputs.get("explanation"):
            rows.append((labels["explanation"], [inputs["explanation"]]))
        ground = texts.legal_ground(family_of(inputs["request_type"]) or "", reason)
        rows.append((labels["ground"], [ground[language]]))
    if kind in (NoticeKind.ACCESS_POSTPONED, NoticeKind.EXTENSION):
        rows.append((labels["reason"], [inputs.get("reason", "")]))
        if kind == NoticeKind.ACCESS_POSTPONED:
            rows.append((labels["new_date"], [_day(inputs.get("due_after", ""), language)]))
        else:
            rows.append((labels["due_before"], [_day(inputs.get("due_before", ""), language)]))
            rows.append((labels["due_after"], [_day(inputs.get("due_after", ""), language)]))
    if kind in (NoticeKind.CORRECTION_DELETION_DONE, NoticeKind.SUSPENSION_DONE, NoticeKind.AUTOMATED_DONE):
        rows.append((labels["action"], [inputs.get("action", "")]))
        rows.append((labels["done_on"], [_day(inputs.get("done_on", ""), language)]))
    fee = inputs.get("fee")
    rows.append((labels["fee"], [fee[language] if fee else texts.NONE[language]]))
    return rows


def sections(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """The notice in each language: title, items, the objection route, the legal basis."""
    kind = inputs["kind"]
    article = ARTICLES[kind]
    return [{
        "language": language,
        "title": texts.TITLES[kind][language],
        "company": texts.COMPANY[language],
        "rows": _rows(inputs, language),
        "objection_label": texts.LABELS["objection"][language],
        "objection_own": texts.OBJECTION_OWN[language].format(reference=inputs["reference"],
                                                             officers=texts.OFFICERS[language]),
        "outside_intro": texts.OBJECTION_OUTSIDE[language],
        "outside": [getattr(remedy, language) for remedy in OUTSIDE_REMEDIES],
        "basis_label": texts.LABELS["basis"][language],
        "basis": getattr(article, language),
        "issued_label": texts.LABELS["issued"][language],
        "issued": f"{texts.COMPANY[language]} — {texts.OFFICERS[language]}",
        "issued_on_label": texts.LABELS["issued_on"][language],
        "issued_on": _day(inputs["issued_on"], language),
    } for language in texts.LANGUAGES]


def render_html(inputs: dict[str, Any]) -> str:
    template = mail_templates().get_template("notices/notice.html")
    return template.render(Context({"sections": sections(inputs), "reference": inputs["reference"]}))


def render_pdf(inputs: dict[str, Any]) -> bytes:
    """The notice as a PDF (WeasyPrint; Noto CJK for Korean). Same inputs, same bytes."""
    import weasyprint

    return bytes(weasyprint.HTML(string=render_html(inputs)).write_pdf())


def filename(inputs: dict[str, Any]) -> str:
    return f"{inputs['reference']}-{inputs['kind'].replace('_', '-')}-{inputs['issued_on']}.pdf"
