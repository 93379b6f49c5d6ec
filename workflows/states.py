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


class StateCategory(models.TextChoices):
    """What a state means for the figures: every state is in exactly one category, so the dashboard's
    cards add up (received = open + answered + withdrawn + rejected) whatever states are added later
    (a merged duplicate has a category and a card of its own: it was received, and is answered on the
    ticket it was merged into)."""

    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    REJECTED = "rejected", _("Rejected")
    MERGED = "merged", _("Merged into another")


# The one place that says which category each state counts in (issue 28, point 9).
STATE_CATEGORY: dict[str, str] = {
    TicketState.RECEIVED: StateCategory.OPEN,
    TicketState.VERIFIED: StateCategory.OPEN,
    TicketState.AWAITING_REQUESTER: StateCategory.OPEN,
    TicketState.PROCESSED: StateCategory.OPEN,
    TicketState.RESPONDED: StateCategory.ANSWERED,
    TicketState.REJECTED: StateCategory.REJECTED,
    TicketState.WITHDRAWN: StateCategory.WITHDRAWN,
    TicketState.MERGED: StateCategory.MERGED,
}
_uncategorised = set(TicketState.values) - set(STATE_CATEGORY)
if _uncategorised:  # fail at start-up, not in a manager's sums
    raise RuntimeError(f"states without a category in workflows.states.STATE_CATEGORY: {sorted(_uncategorised)}")


def states_in(category: str) -> tuple[str, ...]:
    """The states counted in ``category``, in the states' order."""
    return tuple(TicketState(s) for s in TicketState.values if STATE_CATEGORY[s] == category)


OPEN_STATES = states_in(StateCategory.OPEN)
CLOSED_STATES = tuple(s for s in TicketState if STATE_CATEGORY[s] != StateCategory.OPEN)
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
