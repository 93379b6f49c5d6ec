"""The kinds of request the desk handles (PIPA rights, complaints, inquiries)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise


class RequestType(models.TextChoices):
    ACCESS = "access", _("Access to personal information")
    CORRECTION = "correction", _("Correction of personal information")
    DELETION = "deletion", _("Deletion of personal information")
    SUSPENSION = "suspension", _("Suspension of processing")
    CONSENT_WITHDRAWAL = "consent_withdrawal", _("Consent withdrawal / marketing opt-out")
    MEMBERSHIP_WITHDRAWAL = "membership_withdrawal", _("Membership withdrawal")
    # PIPA Art. 37-2, Enforcement Decree Art. 44-2 - 44-4: rights about fully automated decisions.
    AUTOMATED_REFUSAL = "automated_refusal", _("Refusal of an automated decision")
    AUTOMATED_EXPLANATION = "automated_explanation", _("Explanation of an automated decision")
    AUTOMATED_REVIEW = "automated_review", _("Review of an automated decision")
    COMPLAINT = "complaint", _("Complaint")
    INQUIRY = "inquiry", _("Inquiry")
    OTHER = "other", _("Other")


# One plain-language line per right, shown to requesters next to the choice.
REQUEST_TYPE_HELP: dict[str, StrOrPromise] = {
    RequestType.ACCESS: _("See what personal information we hold about you."),
    RequestType.CORRECTION: _("Fix personal information about you that is wrong or out of date."),
    RequestType.DELETION: _("Have your personal information deleted."),
    RequestType.SUSPENSION: _("Ask us to stop using your personal information."),
    RequestType.CONSENT_WITHDRAWAL: _("Withdraw a consent you gave, e.g. stop marketing e-mail."),
    RequestType.MEMBERSHIP_WITHDRAWAL: _("Close your membership account."),
    RequestType.AUTOMATED_REFUSAL: _("Refuse a decision made about you by a fully automated system."),
    RequestType.AUTOMATED_EXPLANATION: _("Have an automated decision about you explained: its criteria and process."),
    RequestType.AUTOMATED_REVIEW: _("Add information and have an automated decision about you reviewed."),
    RequestType.COMPLAINT: _("Tell us how we handled your personal information badly."),
    RequestType.INQUIRY: _("Ask a question about our privacy practices."),
    RequestType.OTHER: _("Anything else about your personal information."),
}

# Rights for which control of the e-mail address on file is enough proof of identity. Access
# discloses data, so it needs more (the administrator asks for proof).
EMAIL_PROOF_SUFFICES = frozenset(
    {
        RequestType.CONSENT_WITHDRAWAL,
        RequestType.MEMBERSHIP_WITHDRAWAL,
        RequestType.COMPLAINT,
        RequestType.INQUIRY,
        RequestType.OTHER,
        RequestType.CORRECTION,
        RequestType.DELETION,
        RequestType.SUSPENSION,
        RequestType.AUTOMATED_REFUSAL,
        RequestType.AUTOMATED_REVIEW,
    }
)


# Verification methods that prove only control of the e-mail address (a guardian confirms by a link too).
EMAIL_ONLY_PROOF = frozenset({"email_link", "guardian_consent"})


def proof_suffices(request_type: str, verification_method: str) -> bool:
    """Whether the way identity was verified is enough for this request type (issue 25).

    Checked again wherever data is looked up or released, since a ticket can be reclassified after
    it was verified: an inquiry confirmed by e-mail link that becomes an access request is not.
    """
    return request_type in EMAIL_PROOF_SUFFICES or verification_method not in EMAIL_ONLY_PROOF


class Jurisdiction(models.TextChoices):
    KR = "kr", _("Korea (PIPA)")
    GDPR = "gdpr", _("EU / UK (GDPR)")
    CCPA = "ccpa", _("California (CCPA)")
