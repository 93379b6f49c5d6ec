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
