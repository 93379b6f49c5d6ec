"""How a notice reached a requester who has no e-mail address (phone call, post, in person)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.models.tickets import Message, User


class GivenBy(models.TextChoices):
    PHONE = "phone", _("Phone call")
    POST = "post", _("Post")
    FAX = "fax", _("Fax")
    IN_PERSON = "in_person", _("In person")


class NoticeDelivery(models.Model):
    """A notice (acknowledgement, reply, decision) the desk gave by hand instead of mailing it."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="given")
    method = models.CharField(_("how it was given"), max_length=16, choices=GivenBy.choices)
    given_at = models.DateTimeField(_("when"))
    given_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("by"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("notice given by hand")
        verbose_name_plural = _("notices given by hand")

    def __str__(self) -> str:
        return f"{self.method} {self.given_at:%Y-%m-%d}"


class Relation(models.TextChoices):
    """Who may act for the data subject (PIPA Enforcement Decree Art. 45(1))."""

    LEGAL = "legal", _("Legal representative (e.g. parent, guardian)")
    DELEGATE = "delegate", _("Delegated by the data subject (power of attorney)")


class AuthorityCheck(models.TextChoices):
    """How the representative's authority was checked (Decree Art. 45(2), 46(1))."""

    POWER_OF_ATTORNEY = "power_of_attorney", _("Power of attorney checked (signed, with the subject's ID copy)")
    FAMILY_CERTIFICATE = "family_certificate", _("Family relation certificate checked (legal representative)")
    COURT_ORDER = "court_order", _("Court appointment checked (guardian)")
    OTHER = "other", _("Other (described in the note)")


class Representation(models.Model):
    """A request made on the data subject's behalf: the ticket's requester is the representative.

    Mail and the status link go to the representative; the subject is told a request was made in
    their name (see ``helpdesk.services.representation``); ``verify`` waits until both the
    representative's authority and the subject's identity were checked, and says how.
    """

    ticket = models.OneToOneField("helpdesk.Ticket", on_delete=models.CASCADE, related_name="representation")
    relation = models.CharField(_("relation to the data subject"), max_length=16, choices=Relation.choices)
    relation_detail = models.CharField(_("relation, in words"), max_length=200, blank=True)
    subject_name = models.CharField(_("data subject's name"), max_length=200)
    subject_email = models.EmailField(_("data subject's e-mail"), blank=True)
    subject_phone = models.CharField(_("data subject's phone"), max_length=50, blank=True)
    subject_birth_date = models.DateField(_("data subject's date of birth"), null=True, blank=True)
    power_of_attorney = models.ForeignKey("helpdesk.Attachment", null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="+", verbose_name=_("power of attorney"))
    subject_notice = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    authority_check = models.CharField(_("how the representative's authority was checked"), max_length=24,
                                       choices=AuthorityCheck.choices, blank=True)
    subject_check = models.CharField(_("how the data subject's identity was checked"), max_length=24, blank=True)
    check_note = models.CharField(_("note"), max_length=500, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    checked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("representation")
        verbose_name_plural = _("representations")

    def __str__(self) -> str:
        return f"{self.relation} for {self.subject_name}"


class ParticipantRole(models.TextChoices):
    GUARDIAN = "guardian", _("Guardian")
    REPRESENTATIVE = "representative", _("Representative")
    COUNSEL = "counsel", _("Legal counsel")
    OTHER = "other", _("Other")


class Participant(models.Model):
    """Someone besides the requester who receives the replies (in Cc) and whose mail threads onto the ticket.

    Removing one keeps the row (``removed_at``): who received which answer stays on record.
    """

    ticket = models.ForeignKey("helpdesk.Ticket", on_delete=models.CASCADE, related_name="participants")
    email = models.EmailField(_("e-mail"))
    name = models.CharField(_("name"), max_length=200, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=ParticipantRole.choices, default=ParticipantRole.OTHER)
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [models.UniqueConstraint(fields=["ticket", "email"], condition=models.Q(removed_at__isnull=True),
                                               name="participant_active_once")]
        indexes = [models.Index(fields=["email"], name="participant_email")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email
