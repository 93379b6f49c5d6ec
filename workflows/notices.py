"""The statutory notices: which outcome of which request gets which notice, and the article behind it.

PIPA (Act 35–38) and its Enforcement Decree (Art. 41–44-4) name a written notice for each outcome
of a data-subject request, with the items it must carry. This module is the one place that says,
for a request type and an outcome, which notice is due (``notice_for``) and which articles it
answers (``ARTICLES``); ``notifications.notices`` renders and stores it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from workflows.request_types import RequestType


class NoticeKind(models.TextChoices):
    ACCESS_GRANTED = "access_granted", _("Access notice")
    ACCESS_PARTIAL = "access_partial", _("Access notice (partly limited)")
    ACCESS_POSTPONED = "access_postponed", _("Notice of postponed access")
    ACCESS_REFUSED = "access_refused", _("Notice of refused access")
    CORRECTION_DELETION_DONE = "correction_deletion_done", _("Notice of correction or deletion")
    CORRECTION_DELETION_REFUSED = "correction_deletion_refused", _("Notice of refused correction or deletion")
    SUSPENSION_DONE = "suspension_done", _("Notice of suspended processing")
    SUSPENSION_REFUSED = "suspension_refused", _("Notice of refused suspension")
    AUTOMATED_DONE = "automated_done", _("Notice of action on an automated decision")
    AUTOMATED_REFUSED = "automated_refused", _("Notice of refused automated-decision request")
    EXTENSION = "extension", _("Notice of extended deadline")


class Outcome(models.TextChoices):
    DONE = "done", _("Carried out")
    PARTIAL = "partial", _("Partly carried out")
    POSTPONED = "postponed", _("Postponed or extended")
    REFUSED = "refused", _("Refused")


@dataclass(frozen=True)
class Article:
    """Where a notice comes from: the Korean citation and its English rendering."""

    ko: str
    en: str


ARTICLES: dict[str, Article] = {
    NoticeKind.ACCESS_GRANTED: Article("개인정보 보호법 제35조제3항, 같은 법 시행령 제41조제5항",
                                       "PIPA Art. 35(3); Enforcement Decree Art. 41(5)"),
    NoticeKind.ACCESS_PARTIAL: Article("개인정보 보호법 제35조제4항, 같은 법 시행령 제41조제5항 및 제42조제1항",
                                       "PIPA Art. 35(4); Enforcement Decree Art. 41(5), 42(1)"),
    NoticeKind.ACCESS_POSTPONED: Article("개인정보 보호법 제35조제3항 후단, 같은 법 시행령 제42조제2항",
                                         "PIPA Art. 35(3), second sentence; Enforcement Decree Art. 42(2)"),
    NoticeKind.ACCESS_REFUSED: Article("개인정보 보호법 제35조제4항, 같은 법 시행령 제42조제2항",
                                       "PIPA Art. 35(4); Enforcement Decree Art. 42(2)"),
    NoticeKind.CORRECTION_DELETION_DONE: Article("개인정보 보호법 제36조제2항, 같은 법 시행령 제43조제3항",
                                                 "PIPA Art. 36(2); Enforcement Decree Art. 43(3)"),
    NoticeKind.CORRECTION_DELETION_REFUSED: Article(
        "개인정보 보호법 제36조제1항 단서 및 제4항, 같은 법 시행령 제43조제3항",
                                                    "PIPA Art. 36(1) proviso, 36(4); Enforcement Decree Art. 43(3)"),
    NoticeKind.SUSPENSION_DONE: Article("개인정보 보호법 제37조제2항, 같은 법 시행령 제44조제2항",
                                        "PIPA Art. 37(2); Enforcement Decree Art. 44(2)"),
    NoticeKind.SUSPENSION_REFUSED: Article("개인정보 보호법 제37조제2항 단서 및 제4항, 같은 법 시행령 제44조제2항",
                                           "PIPA Art. 37(2) proviso, 37(4); Enforcement Decree Art. 44(2)"),
    NoticeKind.AUTOMATED_DONE: Article(
        "개인정보 보호법 제37조의2제3항, 같은 법 시행령 제44조의3제1항부터 제3항까지 및 제5항",
                                       "PIPA Art. 37-2(3); Enforcement Decree Art. 44-3(1) to (3) and (5)"),
    NoticeKind.AUTOMATED_REFUSED: Article(
        "개인정보 보호법 제37조의2제3항 및 제38조제5항, 같은 법 시행령 제44조의3제4항",
                                          "PIPA Art. 37-2(3), 38(5); Enforcement Decree Art. 44-3(4)"),
    NoticeKind.EXTENSION: Article(
        "개인정보 보호법 제35조제3항 후단 및 제38조제5항 (자동화된 결정: 시행령 제44조의3제5항 단서)",
                                  "PIPA Art. 35(3), second sentence, and 38(5) "
                                  "(automated decisions: Enforcement Decree Art. 44-3(5) proviso)"),
}

# Every notice names how to object (Act 38(5)): the company's own procedure first, then these.
OUTSIDE_REMEDIES = (
    Article("개인정보 분쟁조정위원회: www.kopico.go.kr, 국번 없이 1833-6972",
            "Personal Information Dispute Mediation Committee: www.kopico.go.kr, 1833-6972"),
    Article("한국인터넷진흥원 개인정보침해 신고센터: privacy.kisa.or.kr, 국번 없이 118",
            "KISA Privacy Infringement Report Center (privacy call center): privacy.kisa.or.kr, call 118"),
)

AUTOMATED_DECISION_TYPES = frozenset({
    RequestType.AUTOMATED_REFUSAL, RequestType.AUTOMATED_EXPLANATION, RequestType.AUTOMATED_REVIEW,
})

_FAMILY: dict[str, str] = {
    RequestType.ACCESS: "access",
    RequestType.CORRECTION: "correction_deletion",
    RequestType.DELETION: "correction_deletion",
    RequestType.MEMBERSHIP_WITHDRAWAL: "correction_deletion",
    RequestType.SUSPENSION: "suspension",
    RequestType.CONSENT_WITHDRAWAL: "suspension",  # Act 37(1): suspension and consent withdrawal together
    **dict.fromkeys(AUTOMATED_DECISION_TYPES, "automated"),
}


def family_of(request_type: str) -> str | None:
    """The right a request type exercises, as the notices group them (None: no prescribed notice)."""
    return _FAMILY.get(request_type)


def notice_for(request_type: str, outcome: str) -> NoticeKind | None:
    """The notice due when a request of this type has this outcome; None: no statutory notice.

    Complaints and inquiries have no prescribed notice; their deadline extension still gets one
    (the objection route of Act 38(5) applies to every extension the desk makes).
    """
    family = _FAMILY.get(request_type)
    if outcome == Outcome.POSTPONED:
        return NoticeKind.ACCESS_POSTPONED if family == "access" else NoticeKind.EXTENSION
    if family is None:
        return None
    if family == "access":
        return {Outcome.DONE: NoticeKind.ACCESS_GRANTED, Outcome.PARTIAL: NoticeKind.ACCESS_PARTIAL,
                Outcome.REFUSED: NoticeKind.ACCESS_REFUSED}.get(Outcome(outcome))
    refused = outcome == Outcome.REFUSED
    return {
        "correction_deletion": (NoticeKind.CORRECTION_DELETION_DONE, NoticeKind.CORRECTION_DELETION_REFUSED),
        "suspension": (NoticeKind.SUSPENSION_DONE, NoticeKind.SUSPENSION_REFUSED),
        "automated": (NoticeKind.AUTOMATED_DONE, NoticeKind.AUTOMATED_REFUSED),
    }[family][refused]


def is_refusal(kind: str) -> bool:
    return kind in {NoticeKind.ACCESS_REFUSED, NoticeKind.CORRECTION_DELETION_REFUSED,
                    NoticeKind.SUSPENSION_REFUSED, NoticeKind.AUTOMATED_REFUSED, NoticeKind.ACCESS_PARTIAL}
