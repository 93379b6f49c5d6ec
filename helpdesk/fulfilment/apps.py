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

        from helpdesk.fulfilment import selectors, signals
        from helpdesk.fulfilment import tasks as fulfilment_tasks  # noqa: F401 - registers the tasks by name
        from helpdesk.fulfilment.models import AccessPackage
        from workflows import transitions

        for guard in selectors.PROCESS_GUARDS:  # "process" needs a fulfilment or a written reason
            transitions.add_guard("process", guard)
        post_delete.connect(signals.destroy_package_file, sender=AccessPackage, dispatch_uid="fulfilment_package_file")
