"""The wording of the statutory notices, Korean and English side by side.

Written out per language rather than through the gettext catalog: a notice is a legal document
whose Korean text is the one the Decree asks for, and a reviewer reads both versions here at once.
"""

from __future__ import annotations

from workflows.notices import NoticeKind
from workflows.states import RejectionReason

LANGUAGES = ("ko", "en")

COMPANY = {"ko": "MICUBE Solution (마이큐브솔루션)", "en": "MICUBE Solution"}
OFFICERS = {"ko": "개인정보 보호책임자 박문원, 심효준", "en": "Privacy administrators Park Moonwon, Shim Hyojoon"}

TITLES: dict[str, dict[str, str]] = {
    NoticeKind.ACCESS_GRANTED: {"ko": "개인정보 열람 통지서", "en": "Notice of Access to Personal Information"},
    NoticeKind.ACCESS_PARTIAL: {"ko": "개인정보 열람 통지서 (일부 열람)",
                                "en": "Notice of Access to Personal Information (partial access)"},
    NoticeKind.ACCESS_POSTPONED: {"ko": "개인정보 열람 연기 통지서", "en": "Notice of Postponed Access"},
    NoticeKind.ACCESS_REFUSED: {"ko": "개인정보 열람 거절 통지서", "en": "Notice of Refused Access"},
    NoticeKind.CORRECTION_DELETION_DONE: {"ko": "개인정보 정정·삭제 결과 통지서",
                                          "en": "Notice of the Result of Correction or Deletion"},
    NoticeKind.CORRECTION_DELETION_REFUSED: {"ko": "개인정보 정정·삭제 결과 통지서 (요구 불이행)",
                                             "en": "Notice of the Result of Correction or Deletion (not carried out)"},
    NoticeKind.SUSPENSION_DONE: {"ko": "개인정보 처리정지 요구에 대한 결과 통지서",
                                 "en": "Notice of the Result of a Request to Suspend Processing"},
    NoticeKind.SUSPENSION_REFUSED: {"ko": "개인정보 처리정지 요구에 대한 결과 통지서 (요구 거절)",
                                    "en": "Notice of the Result of a Request to Suspend Processing (refused)"},
    NoticeKind.AUTOMATED_DONE: {"ko": "자동화된 결정에 대한 거부·설명등요구 결과 통지서",
                                "en": "Notice of the Action on a Request about an Automated Decision"},
    NoticeKind.AUTOMATED_REFUSED: {"ko": "자동화된 결정에 대한 거부·설명등요구 거절 통지서",
                                   "en": "Notice of Refusal of a Request about an Automated Decision"},
    NoticeKind.EXTENSION: {"ko": "처리 기한 연장 통지서", "en": "Notice of Extended Deadline"},
}

LABELS: dict[str, dict[str, str]] = {
    "subject": {"ko": "정보주체", "en": "Data subject"},
    "reference": {"ko": "접수번호", "en": "Reference"},
    "request": {"ko": "요구 내용", "en": "Request"},
    "received": {"ko": "요구 접수일", "en": "Request received on"},
    "items": {"ko": "열람할 개인정보", "en": "Personal information you may access"},
    "register": {"ko": "처리 목적·보유 기간·제3자 제공·처리 위탁·동의 사항",
                 "en": "Purposes, retention periods, third parties, processors and consent"},
    "when": {"ko": "열람 가능 일시", "en": "When you may access it"},
    "how": {"ko": "열람 장소 및 방법", "en": "Where and how"},
    "withheld": {"ko": "열람이 제한되는 사항", "en": "What is withheld"},
    "reason": {"ko": "사유", "en": "Reason"},
    "explanation": {"ko": "상세 설명", "en": "Explanation"},
    "ground": {"ko": "법적 근거", "en": "Legal ground"},
    "new_date": {"ko": "열람 예정일 (연기된 기한)", "en": "Access by (postponed deadline)"},
    "action": {"ko": "조치 내용", "en": "What was done"},
    "done_on": {"ko": "조치일", "en": "Done on"},
    "due_before": {"ko": "기존 처리 기한", "en": "Previous deadline"},
    "due_after": {"ko": "연장된 처리 기한", "en": "New deadline"},
    "fee": {"ko": "수수료·우송료", "en": "Fees and postage"},
    "objection": {"ko": "이의제기 방법", "en": "How to object"},
    "basis": {"ko": "근거 법령", "en": "Legal basis of this notice"},
    "issued": {"ko": "발신", "en": "Issued by"},
    "issued_on": {"ko": "발신일", "en": "Date"},
}

NONE = {"ko": "없음", "en": "None"}
NO_RECORDS = {"ko": "보유하고 있는 개인정보가 없습니다.", "en": "We hold no personal information about you."}
RECORDS = {"ko": "{source} · {table}: {records}건", "en": "{source} · {table}: {records} record(s)"}
BY_HAND = {"ko": "담당자가 답변 메일로 제공한 사본 (요구하신 개인정보 전부)",
           "en": "The copy the administrator gave you with the reply (all the personal information you asked for)"}
AVAILABLE = {"ko": "{start}부터 {end}까지", "en": "From {start} until {end}"}
AVAILABLE_NOW = {"ko": "이 통지를 받은 때부터", "en": "From the receipt of this notice"}
HOW_DOWNLOAD = {
    "ko": "요청 상태 페이지의 본인 전용 링크(전자우편으로 안내)에서 사본(ZIP: data.json, 표별 CSV, "
          "한국어·영어 요약서)을 내려받으실 수 있습니다. 우편 수령을 원하시면 회신해 주세요.",
    "en": "Download the copy (ZIP: data.json, a CSV per table, a Korean and English summary) from your private "
          "status-page link, sent to you by e-mail. Reply if you would rather receive it by post.",
}
HOW_BY_HAND = {"ko": "담당자의 답변 전자우편에 첨부된 사본을 보시면 됩니다. 우편 수령을 원하시면 회신해 주세요.",
               "en": "The copy is attached to the administrator's reply e-mail. Reply if you would rather receive it "
                     "by post."}
REGISTER_SEE_SUMMARY = {"ko": "아래 처리 내역과 사본의 요약서(summary.html)를 참조하십시오.",
                        "en": "See the entries below and the copy's summary (summary.html)."}
OBJECTION_OWN = {
    "ko": "이 통지에 이의가 있으시면 통지를 받은 날부터 90일 이내에 이 메일에 회신하시거나(제목의 [{reference}] 유지) "
          "{officers}(micube@micube.co.kr, 02-553-2171)에게 서면·전화·전자우편으로 이의를 제기하실 수 있습니다. "
          "처음 처리한 담당자가 아닌 보호책임자가 다시 검토하여 10일 이내에 결과를 알려 드립니다.",
    "en": "If you disagree with this notice, within 90 days of receiving it reply to this e-mail "
          "(keep [{reference}] in the subject) or object in writing, by phone or by e-mail to the {officers} "
          "(micube@micube.co.kr, +82 2-553-2171). An administrator other than the one who handled your request "
          "reviews it again and tells you the result within 10 days.",
}
OBJECTION_OUTSIDE = {"ko": "외부 기관을 통한 권리 구제:", "en": "You may also turn to:"}

# The legal ground of a refusal, by the family of the request and the reason chosen on the desk.
GROUNDS: dict[tuple[str, str], dict[str, str]] = {
    ("access", RejectionReason.REQUIRED_BY_LAW): {"ko": "개인정보 보호법 제35조제4항제1호 (법률에 따른 열람 금지·제한)",
                                                  "en": "PIPA Art. 35(4)1 (access prohibited or limited by law)"},
    ("access", RejectionReason.THIRD_PARTY_HARM): {
        "ko": "개인정보 보호법 제35조제4항제2호 (다른 사람의 생명·신체·재산 등 침해 우려)",
        "en": "PIPA Art. 35(4)2 (risk to another person's life, body, property or other interests)"},
    ("correction_deletion", RejectionReason.REQUIRED_BY_LAW): {
        "ko": "개인정보 보호법 제36조제1항 단서 (다른 법령에서 수집 대상으로 명시된 개인정보)",
        "en": "PIPA Art. 36(1) proviso (the information is required to be collected by another law)"},
    ("suspension", RejectionReason.REQUIRED_BY_LAW): {
        "ko": "개인정보 보호법 제37조제2항제1호 (법률의 특별한 규정 또는 법령상 의무)",
        "en": "PIPA Art. 37(2)1 (a special provision of law or a legal obligation)"},
    ("suspension", RejectionReason.THIRD_PARTY_HARM): {
        "ko": "개인정보 보호법 제37조제2항제2호 (다른 사람의 생명·신체·재산 등 침해 우려)",
        "en": "PIPA Art. 37(2)2 (risk to another person's life, body, property or other interests)"},
    ("suspension", RejectionReason.CONTRACT_PERFORMANCE): {
        "ko": "개인정보 보호법 제37조제2항제4호 (약정한 서비스 제공 등 계약 이행 곤란)",
        "en": "PIPA Art. 37(2)4 (the contract with you could not be performed)"},
    ("automated", RejectionReason.THIRD_PARTY_HARM): {
        "ko": "개인정보 보호법 제37조의2제3항 및 같은 법 시행령 제44조의3제4항 "
              "(다른 사람의 이익 침해 우려 등 정당한 사유)",
        "en": "PIPA Art. 37-2(3); Enforcement Decree Art. 44-3(4) (a justified reason such as harm to others)"},
}
GROUND_BY_REASON: dict[str, dict[str, str]] = {
    RejectionReason.IDENTITY_NOT_VERIFIED: {
        "ko": "개인정보 보호법 시행령 제46조제1항 (본인 또는 정당한 대리인 여부 확인 불가)",
        "en": "Enforcement Decree Art. 46(1) (you or your agent could not be identified)"},
    RejectionReason.NO_DATA_HELD: {"ko": "처리하고 있는 해당 정보주체의 개인정보 없음",
                                   "en": "We process no personal information about you"},
    RejectionReason.MANIFESTLY_UNFOUNDED: {
        "ko": "개인정보 보호법 제38조 및 같은 법 시행령 제41조제2항의 절차에 맞지 않는 명백히 부당한 요구",
        "en": "A manifestly unfounded or excessive request (PIPA Art. 38; Enforcement Decree Art. 41(2))"},
}
GROUND_OTHER = {"ko": "상세 설명에 적은 법령", "en": "The law named in the explanation"}
AUTOMATED_GROUND = {"ko": "개인정보 보호법 제37조의2제1항 단서 또는 제3항 (정당한 사유)",
                    "en": "PIPA Art. 37-2(1) proviso or 37-2(3) (a justified reason)"}


def legal_ground(family: str, reason: str) -> dict[str, str]:
    """The article a refusal rests on, in both languages."""
    if (family, reason) in GROUNDS:
        return GROUNDS[(family, reason)]
    if reason in GROUND_BY_REASON:
        return GROUND_BY_REASON[reason]
    return AUTOMATED_GROUND if family == "automated" else GROUND_OTHER
