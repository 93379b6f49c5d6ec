"""Building the mails the desk sends: bilingual bodies, threading headers, loop protection."""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import make_msgid
from functools import cache
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.template import Context, Engine
from django.utils import translation

from helpdesk.models import Message, MessageKind, Ticket

OTHER_LANGUAGE = {"ko": "en", "en": "ko"}
SEPARATOR = "\n\n" + "-" * 60 + "\n\n"


def new_message_id() -> str:
    """A Message-ID in our own domain (without angle brackets), so intake recognises our mail."""
    return make_msgid(domain=settings.DESK_MESSAGE_ID_DOMAIN).strip("<>")


def render_bilingual(template: str, context: dict[str, object], primary: str = "ko") -> str:
    """The requester's language first, then the other one: every requester can read it."""
    return render_bilingual_many(template, [(context, primary)])[0]


def render_bilingual_many(template: str, mails: Sequence[tuple[dict[str, object], str]]) -> list[str]:
    """:func:`render_bilingual` of each ``(context, primary language)``, in order.

    Rendered language by language (one switch of the active language for all of them, not two per
    mail: intake acknowledges a whole batch of new tickets at once); each body is the same."""
    pairs = [(primary, OTHER_LANGUAGE.get(primary, "en")) for _context, primary in mails]
    parts: list[dict[str, str]] = [{} for _mail in mails]
    for language in dict.fromkeys(language for pair in pairs for language in pair):
        with translation.override(language):
            body = mail_templates().get_template(f"notifications/email/{template}.{language}.txt")
            for (context, _primary), pair, rendered in zip(mails, pairs, parts, strict=True):
                if language in pair:
                    rendered[language] = body.render(Context(context)).strip()
    return [SEPARATOR.join(rendered[language] for language in pair) + "\n"
            for pair, rendered in zip(pairs, parts, strict=True)]


@cache
def mail_templates() -> Engine:
    """The mail bodies' template engine: the same template folders as the pages', but only the
    tags mail uses (``tz``). The pages' engine imports every app's tag libraries on first use
    (~75 ms, the admin's among them), which ``ingest_email``, started per mail by an MTA, would
    pay for its one acknowledgement."""
    pages: dict[str, Any] = settings.TEMPLATES[0]
    loaders = ["django.template.loaders.filesystem.Loader",
               *(["django.template.loaders.app_directories.Loader"] if pages["APP_DIRS"] else [])]
    return Engine(dirs=[str(folder) for folder in pages["DIRS"]], debug=settings.DEBUG,
                  libraries={"tz": "django.templatetags.tz"},
                  # Cached, except while developing: the runserver reloader resets only the pages'
                  # engine, and an edited mail template should show at once.
                  loaders=loaders if settings.DEBUG else [("django.template.loaders.cached.Loader", loaders)])


def subject_with_reference(ticket: Ticket, text: str) -> str:
    tag = f"[{ticket.reference}]"
    return text if tag in text else f"{text} {tag}"


def thread_headers(ticket: Ticket) -> tuple[str, list[str]]:
    """In-Reply-To (the requester's latest message) and References (the whole conversation)."""
    rows = list(
        # Staff-only mail (tasks to departments and processors, issue 26) never enters the requester's thread.
        ticket.messages.exclude(message_id="").exclude(direction="note").order_by("sent_at", "id")
        .values_list("message_id", "direction")
    )
    ids = [message_id for message_id, _ in rows]
    inbound = [message_id for message_id, direction in rows if direction == "inbound"]
    latest = inbound[-1] if inbound else (ids[-1] if ids else "")
    return latest, ids[-20:]


# The fields build_email reads (for ``QuerySet.only``): a message's and its ticket's.
MAIL_FIELDS = ("message_id", "in_reply_to", "references", "kind", "subject", "body_text", "recipients",
               "ticket__reference")


def build_email(message: Message) -> EmailMessage:
    ticket = message.ticket
    headers = {"Message-ID": f"<{message.message_id}>", "X-Privacy-Desk-Ticket": ticket.reference}
    if message.in_reply_to:
        headers["In-Reply-To"] = f"<{message.in_reply_to}>"
    if message.references:
        headers["References"] = " ".join(f"<{ref}>" for ref in message.references.split())
    if message.kind == MessageKind.ACKNOWLEDGEMENT:
        headers["Auto-Submitted"] = "auto-replied"  # RFC 3834: other robots must not answer it
    elif message.kind == MessageKind.NOTICE:
        headers["Auto-Submitted"] = "auto-generated"
    email = EmailMessage(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(message.recipients)[:1],
        cc=list(message.recipients)[1:],  # the ticket's participants (issue 26)
        headers=headers,
    )
    for attachment in message.attachments.all():  # statutory notices (PDF); prefetched by the senders
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)
    return email
