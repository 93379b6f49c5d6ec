"""Tasks sent by mail to the people who hold the data: internal departments, processors, providers (issue 26).

A :class:`Contact` is kept by managers in the Django admin (the data-sources file may name one per
source); a :class:`Task` is one request to one contact about one ticket, with what to do and a due
date no later than the ticket's legal deadline. Writes go through ``helpdesk.services.tasks``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.models.tickets import Message, Ticket, User


class ContactKind(models.TextChoices):
    INTERNAL = "internal", _("Internal department (data owner)")
    PROCESSOR = "processor", _("Processor (consignee)")
    # PIPA Enforcement Decree Art. 43(2): the controller that provided the data to us.
    PROVIDER = "provider", _("Provider of the data (Decree Art. 43(2))")


class ContactLanguages(models.TextChoices):
    """Every task mail is in both languages; this says which comes first."""

    KO_EN = "ko,en", _("Korean, then English")
    EN_KO = "en,ko", _("English, then Korean")


class Contact(models.Model):
    """Someone the desk sends tasks to by mail."""

    name = models.CharField(_("name"), max_length=200)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ContactKind.choices)
    email = models.EmailField(_("e-mail"))
    languages = models.CharField(_("languages"), max_length=8, choices=ContactLanguages.choices,
                                 default=ContactLanguages.KO_EN)
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=500, blank=True,
                            help_text=_("E.g. what they hold: \"newsletter subscribers (privacy policy §11)\"."))

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["organisation", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})" if self.organisation else self.name

    @property
    def primary_language(self) -> str:
        return self.languages.split(",")[0]


class TaskState(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered by the contact")
    DONE = "done", _("Closed by staff")
    CANCELLED = "cancelled", _("Cancelled")


class Task(models.Model):
    """One request by mail to one contact; ``process`` waits while any task of the ticket is open."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="tasks")
    number = models.PositiveSmallIntegerField()  # T1, T2, … per ticket: the token "PRIV-2026-0001-T1"
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="tasks", verbose_name=_("contact"))
    contact_email = models.EmailField()  # the address the mail went to: replies must come from it
    source = models.CharField(_("data source"), max_length=63, blank=True)
    instructions = models.TextField(_("what to do"))
    due_at = models.DateTimeField(_("due"))
    remind_at = models.DateTimeField(null=True, blank=True)  # the before-due reminder; None: too close
    state = models.CharField(_("state"), max_length=12, choices=TaskState.choices, default=TaskState.OPEN)
    mail = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    answer = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    close_note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["ticket", "number"]
        constraints = [models.UniqueConstraint(fields=["ticket", "number"], name="task_number_per_ticket")]
        indexes = [models.Index(fields=["due_at"], name="task_open_due", condition=models.Q(state="open")),
                   models.Index(fields=["contact_email"], name="task_contact_email")]

    def __str__(self) -> str:
        return self.token

    @property
    def token(self) -> str:
        """What the mail's subject and Message-ID carry, e.g. ``PRIV-2026-0001-T1``."""
        return f"{self.ticket.reference}-T{self.number}"

    @property
    def is_open(self) -> bool:
        return self.state == TaskState.OPEN
