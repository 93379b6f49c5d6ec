"""Ticket states. The spine is received → verified → processed → responded."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TicketState(models.TextChoices):
    RECEIVED = "received", _("Received")
    VERIFIED = "verified", _("Identity verified")
    AWAITING_REQUESTER = "awaiting_requester", _("Awaiting requester")
    PROCESSED = "processed", _("Processed")
    RESPONDED = "responded", _("Responded")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # A duplicate whose messages, files and participants moved to the ticket that stays (merged_into).
    MERGED = "merged", _("Merged")


OPEN_STATES = (
    TicketState.RECEIVED,
    TicketState.VERIFIED,
    TicketState.AWAITING_REQUESTER,
    TicketState.PROCESSED,
)
CLOSED_STATES = (TicketState.RESPONDED, TicketState.REJECTED, TicketState.WITHDRAWN, TicketState.MERGED)
# States in which the legal clock runs (awaiting_requester pauses it).
CLOCK_RUNNING_STATES = (TicketState.RECEIVED, TicketState.VERIFIED, TicketState.PROCESSED)


class RejectionReason(models.TextChoices):
    """Legal grounds for refusing or limiting a request (PIPA Art. 35(4), 36(1), 37(2))."""

    IDENTITY_NOT_VERIFIED = "identity_not_verified", _("Identity could not be verified")
    REQUIRED_BY_LAW = "required_by_law", _("Retention or processing is required by law")
    THIRD_PARTY_HARM = "third_party_harm", _("Risk of harm to another person's life, body or rights")
    CONTRACT_PERFORMANCE = "contract_performance", _("Needed to perform a contract with the requester")
    NO_DATA_HELD = "no_data_held", _("We hold no personal information about the requester")
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded", _("Manifestly unfounded or excessive request")
    OTHER_LEGAL = "other_legal", _("Other legal ground (stated in the explanation)")


class VerificationMethod(models.TextChoices):
    EMAIL_LINK = "email_link", _("Confirmed a one-time link sent to the address on file")
    ID_DOCUMENT = "id_document", _("Identity document checked")
    ACCOUNT_LOGIN = "account_login", _("Signed in to the member account")
    PHONE_CALLBACK = "phone_callback", _("Call-back to the phone number on file")
    GUARDIAN_CONSENT = "guardian_consent", _("Legal guardian confirmed")
    OTHER = "other", _("Other (described in the note)")
