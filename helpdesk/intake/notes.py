"""What intake tells staff on a ticket: a mail to check by hand, a requester's address that bounced.

Notes are written in Korean and English (staff read either), through ``services.add_system_note``.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from helpdesk import services
from helpdesk.intake.email.parser import DamagedText
from helpdesk.models import Direction, Message, Ticket

__all__ = ["bilingual", "bounced_message", "flag_for_review", "note_damaged_text", "record_bounce"]


def bilingual(render: object) -> str:
    """``render()`` (a callable using gettext) in Korean, then English."""
    assert callable(render)
    texts = []
    for language in ("ko", "en"):
        with translation.override(language):
            texts.append(str(render()))
    return texts[0] if texts[0] == texts[1] else "\n\n".join(texts)


def flag_for_review(ticket: Ticket, reason: str) -> None:
    """The mail that opened ``ticket`` may be automatic (``reason``, e.g. its subject): ask a person."""
    if reason == "autoreply_subject":
        text = bilingual(lambda: _(
            "Check this mail: its subject reads like an automatic reply (out of office, auto-response), "
            "but it carries none of the headers automatic mail carries. It was filed as a request so that "
            "nothing is lost; if it is only an auto-reply, reject or withdraw the ticket."))
    else:
        text = bilingual(lambda: _("Check this mail: intake was not sure it is a request (%(reason)s).")
                         % {"reason": reason})
    services.add_system_note(ticket=ticket, body_text=text, action="intake.review_flagged",
                             data={"reason": reason})


def note_damaged_text(ticket: Ticket, damaged: list[DamagedText]) -> None:
    """The mail just filed on ``ticket`` had text its charset could not read (issue 25 point 12): say
    how the bad bytes are shown and which attachment keeps the original part."""
    text = "\n\n".join(bilingual(lambda part=part: _damage_sentence(part)) for part in damaged)
    services.add_system_note(ticket=ticket, body_text=text, action="intake.review_flagged",
                             data={"reason": "damaged_text", "attachments": [part.kept_as for part in damaged]})


def _damage_sentence(part: DamagedText) -> str:
    values = {"count": part.bad_bytes, "codec": part.codec, "name": part.kept_as}
    if part.kept_as:
        return _("Check this mail: %(count)s byte(s) of its text are not valid in its character set (read as "
                 "%(codec)s). They are shown as \\xNN in the text, nothing was replaced silently; the original "
                 "part is attached byte for byte as %(name)s.") % values
    return _("Check this mail: %(count)s byte(s) of its text are not valid in its character set (read as "
             "%(codec)s). They are shown as \\xNN in the text; the original part is in the raw mail (the "
             "attachment limits left no room for it).") % values


def bounced_message(failed: tuple[str, str]) -> Message | None:
    """Our outbound mail a bounce names: by its Message-ID, else the latest one of the ticket it names."""
    message_id, reference = failed
    outbound = Message.objects.filter(direction=Direction.OUTBOUND).select_related("ticket")
    if message_id:
        found = outbound.filter(message_id=message_id[:998]).first()
        if found is not None:
            return found
    if reference:
        return outbound.filter(ticket__reference=reference[:32]).order_by("-sent_at", "-pk").first()
    return None


def record_bounce(message: Message, *, reason: str) -> None:
    """Tell staff that mail to the requester bounced (``services.record_bounce``)."""
    recipients = ", ".join(message.recipients) if message.recipients else message.ticket.requester.email
    text = bilingual(lambda: _(
        "Mail to the requester bounced: %(address)s does not accept mail (delivery report: %(reason)s). The "
        "requester has not received \"%(subject)s\". Reach them another way (phone, post) and correct the "
        "address; the legal deadline still runs.") % {"address": recipients, "reason": reason,
                                                      "subject": message.subject})
    services.record_bounce(message=message, body_text=text, report={"reason": reason, "address": recipients})
