from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Privacy Desk"

    def ready(self) -> None:
        # Django's idiom: app modules that need models load once the registry is ready.
        from helpdesk.intake import tasks as intake_tasks  # noqa: F401 - registers the polling task
        from helpdesk.metrics import tasks as metrics_tasks  # noqa: F401 - registers the figures refresh
        from helpdesk.public import tasks as public_tasks  # noqa: F401 - registers the requester mail tasks
        from helpdesk.reference_data import ensure_reference_data
        from helpdesk.trust import retention  # noqa: F401 - registers the purge task

        post_migrate.connect(ensure_reference_data, dispatch_uid="privacy_desk_reference_data")
        from django.utils.translation import gettext_lazy as _

        from workflows import transitions

        # A representative's request (issue 26): both the authority and the subject's identity first.
        transitions.add_guard("verify", transitions.Guard(
            lambda ticket: not ticket.awaiting_representation_check(), "representation",
            _("A representative made this request: record how their authority and the data subject's identity "
              "were checked first.")))
        # Tasks to departments, processors and providers (issue 26): their answers first.
        transitions.add_guard("process", transitions.Guard(
            lambda ticket: not ticket.has_open_tasks(), "tasks",
            _("A task sent to a department, processor or provider is still open: wait for its answer, or close "
              "or cancel it under Tasks.")))
