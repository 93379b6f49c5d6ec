"""The ticket domain's tables. Writes go through :mod:`helpdesk.services`, never straight here."""

from helpdesk.models.fees import FeeQuote
from helpdesk.models.figures import FigureDay, FigureDirtyDay
from helpdesk.models.records import (
    AuditEvent,
    AuditEventQuerySet,
    Quarantine,
    QuarantineStatus,
    RetentionCategory,
    RetentionPolicy,
    TicketStatistic,
)
from helpdesk.models.stored_files import DatabaseStorage, StoredFile, raw_mail_storage
from helpdesk.models.tickets import (
    Attachment,
    Channel,
    DeliveryStatus,
    Direction,
    Language,
    Message,
    MessageKind,
    Requester,
    RequesterToken,
    Ticket,
    TicketCounter,
    TicketQuerySet,
    User,
    WebRequestDetails,
    new_access_key,
    private_upload_to,
    raw_mail_upload_to,
)

__all__ = [
    "Attachment", "AuditEvent", "AuditEventQuerySet", "Channel", "DatabaseStorage", "DeliveryStatus", "Direction",
    "FeeQuote", "FigureDay", "FigureDirtyDay", "Language", "Message",
    "MessageKind", "Quarantine", "QuarantineStatus", "Requester", "RequesterToken", "RetentionCategory",
    "RetentionPolicy", "StoredFile", "Ticket", "TicketCounter", "TicketQuerySet", "TicketStatistic", "User",
    "WebRequestDetails",
    "new_access_key", "private_upload_to", "raw_mail_storage", "raw_mail_upload_to",
]
