from django.apps import AppConfig


class FulfilmentConfig(AppConfig):
    """Carrying requests out in the company's own systems (issue 13)."""

    name = "helpdesk.fulfilment"
    label = "fulfilment"
    verbose_name = "Fulfilment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django's idiom: app modules that need models load once the registry is ready.
        from django.db.models.signals import post_delete

        from helpdesk.fulfilment import after_erasure, selectors, signals
        from helpdesk.fulfilment import tasks as fulfilment_tasks  # noqa: F401 - registers the tasks by name
        from helpdesk.fulfilment.models import AccessPackage
        from helpdesk.trust import audit
        from workflows import transitions

        for guard in selectors.PROCESS_GUARDS:  # "process" needs a fulfilment or a written reason
            transitions.add_guard("process", guard)
        # The desk's own erasure withdraws the requester's packages and lookups on all their tickets.
        audit.ticket_events_recorded.connect(after_erasure.on_ticket_events, dispatch_uid="fulfilment.after_erasure")
        post_delete.connect(signals.destroy_package_file, sender=AccessPackage, dispatch_uid="fulfilment_package_file")
