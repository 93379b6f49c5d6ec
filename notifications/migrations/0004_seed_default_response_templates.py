"""Seed the default bilingual response templates (issue 28, point 6): a fresh install has a template
picker with the answers every privacy desk writes. Managers edit them in the admin
(Notifications → Response templates); this migration never overwrites a template that exists."""

from __future__ import annotations

from typing import Any

from django.db import migrations

SIGNATURE_KO = "MICUBE Solution 개인정보 보호책임자"
SIGNATURE_EN = "MICUBE Solution privacy administrators"

DEFAULTS: tuple[dict[str, str], ...] = (
    {
        "name": "Ask for proof of identity / 본인 확인 요청",
        "request_type": "",
        "body_ko": (
            "{name}님, 안녕하세요.\n\n"
            "접수번호 {reference} 요청을 처리하기 전에, 요청하신 분이 정보주체 본인임을 확인해야 합니다.\n"
            "아래 중 한 가지를 이 메일에 답장으로 보내 주세요.\n"
            "  - 회원 가입 때 쓰신 이메일 주소에서 보낸 답장과 회원 ID\n"
            "  - 주민등록번호 뒷자리를 가린 신분증 사본\n\n"
            "자료를 받을 때까지 처리 기한은 멈추며, 받은 날부터 다시 계산됩니다.\n\n"
            + SIGNATURE_KO
        ),
        "body_en": (
            "Dear {name},\n\n"
            "Before we can act on your request {reference}, we need to confirm that you are the person the "
            "information is about. Please reply to this mail with one of:\n"
            "  - a reply from the address you registered with, and your member ID\n"
            "  - a copy of an identity document with the resident registration number's last digits covered\n\n"
            "The deadline is paused until we receive it and runs again from that day.\n\n"
            + SIGNATURE_EN
        ),
    },
    {
        "name": "Access request: answer / 열람 요청 답변",
        "request_type": "access",
        "body_ko": (
            "{name}님, 안녕하세요.\n\n"
            "요청하신 {reference} 건의 개인정보 열람 결과를 준비했습니다. 요청 상태 페이지에서 자료를 "
            "내려받으실 수 있습니다. 자료에는 저희가 보유한 개인정보의 항목, 처리 목적, 보유 기간이 들어 있습니다.\n\n"
            "궁금한 점이 있으면 이 메일에 답장해 주세요.\n\n"
            + SIGNATURE_KO
        ),
        "body_en": (
            "Dear {name},\n\n"
            "The answer to your access request {reference} is ready: you can download it from your request's "
            "status page. It lists the personal information we hold about you, why we process it and how "
            "long we keep it.\n\n"
            "If anything is unclear, reply to this mail.\n\n"
            + SIGNATURE_EN
        ),
    },
    {
        "name": "Deletion request: answer / 삭제 요청 답변",
        "request_type": "deletion",
        "body_ko": (
            "{name}님, 안녕하세요.\n\n"
            "요청하신 {reference} 건에 따라 개인정보를 삭제했습니다. 다른 법령에서 보존하도록 정한 정보는 "
            "그 기간 동안 분리하여 보관하며, 다른 목적으로 쓰지 않고, 기간이 끝나면 삭제합니다.\n\n"
            + SIGNATURE_KO
        ),
        "body_en": (
            "Dear {name},\n\n"
            "As you asked in {reference}, we have deleted your personal information. Information another law "
            "requires us to keep is stored apart for that period only, used for nothing else, and deleted "
            "when the period ends.\n\n"
            + SIGNATURE_EN
        ),
    },
    {
        "name": "Correction request: answer / 정정 요청 답변",
        "request_type": "correction",
        "body_ko": (
            "{name}님, 안녕하세요.\n\n"
            "요청하신 {reference} 건에 따라 개인정보를 정정했습니다. 정정한 내용은 다음과 같습니다.\n"
            "  - (정정한 항목과 내용을 적어 주세요)\n\n"
            + SIGNATURE_KO
        ),
        "body_en": (
            "Dear {name},\n\n"
            "As you asked in {reference}, we have corrected your personal information as follows:\n"
            "  - (describe what was corrected)\n\n"
            + SIGNATURE_EN
        ),
    },
    {
        "name": "Refusal / 요청 거절",
        "request_type": "",
        "body_ko": (
            "{name}님, 안녕하세요.\n\n"
            "요청하신 {reference} 건을 다음 사유로 처리할 수 없음을 알려 드립니다.\n"
            "  - (법적 근거와 사유를 적어 주세요)\n\n"
            "이 결정에 이의가 있으시면 이 메일에 답장하여 이의를 제기하실 수 있고, 개인정보침해 신고센터"
            "(국번 없이 118) 또는 개인정보 분쟁조정위원회(1833-6972)에 도움을 요청하실 수 있습니다.\n\n"
            + SIGNATURE_KO
        ),
        "body_en": (
            "Dear {name},\n\n"
            "We cannot carry out your request {reference}, for this reason:\n"
            "  - (state the legal ground and the reason)\n\n"
            "If you disagree, reply to this mail to object; you may also ask the Personal Information "
            "Infringement Report Center (118) or the Personal Information Dispute Mediation Committee "
            "(1833-6972) for help.\n\n"
            + SIGNATURE_EN
        ),
    },
    {
        "name": "Deadline extension / 처리 기한 연장",
        "request_type": "",
        "body_ko": (
            "{name}님, 안녕하세요.\n\n"
            "요청하신 {reference} 건은 다음 사유로 기한 안에 처리하기 어려워 처리 기한을 연장합니다.\n"
            "  - (정당한 사유를 적어 주세요)\n\n"
            "새 처리 기한은 {due_date}입니다. 사유가 없어지면 지체 없이 처리하겠습니다.\n\n"
            + SIGNATURE_KO
        ),
        "body_en": (
            "Dear {name},\n\n"
            "We need more time for your request {reference}, for this reason:\n"
            "  - (state the justified reason)\n\n"
            "The new deadline is {due_date}. We will answer as soon as the reason no longer applies.\n\n"
            + SIGNATURE_EN
        ),
    },
)


def seed(apps: Any, schema_editor: Any) -> None:
    template = apps.get_model("notifications", "ResponseTemplate")
    for row in DEFAULTS:
        template.objects.get_or_create(name=row["name"], defaults=row)


def unseed(apps: Any, schema_editor: Any) -> None:
    """Going back removes only the defaults nobody edited."""
    template = apps.get_model("notifications", "ResponseTemplate")
    for row in DEFAULTS:
        template.objects.filter(**row).delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_webhooks")]
    operations = [migrations.RunPython(seed, unseed)]
