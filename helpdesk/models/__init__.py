"""The ticket domain's tables. Writes go through :mod:`helpdesk.services`, never straight here."""

from helpdesk.models.figures import FigureDay, FigureDirtyDay
from helpdesk.models.parties import (
    AuthorityCheck,
    GivenBy,
    NoticeDelivery,
    Participant,
    ParticipantRole,
    Relation,
    Representation,
)
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
    STAFF_CHANNELS,
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
    "STAFF_CHANNELS",
    "Attachment", "AuditEvent", "AuditEventQuerySet", "AuthorityCheck", "Channel", "DatabaseStorage",
    "DeliveryStatus", "Direction",
    "FigureDay", "FigureDirtyDay", "GivenBy", "Language", "Message",
    "MessageKind", "NoticeDelivery", "Participant", "ParticipantRole", "Quarantine", "QuarantineStatus",
    "Relation", "Representation", "Requester",
    "RequesterToken",
    "RetentionCategory",
    "RetentionPolicy", "StoredFile", "Ticket", "TicketCounter", "TicketQuerySet", "TicketStatistic", "User",
    "WebRequestDetails",
    "new_access_key", "private_upload_to", "raw_mail_storage", "raw_mail_upload_to",
]
