from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        # Django's idiom: app modules that need models load once the registry is ready.
        from helpdesk.trust import audit
        from notifications import tasks, webhooks  # noqa: F401 - registers the Celery tasks by name

        audit.ticket_events_recorded.connect(webhooks.on_ticket_events, dispatch_uid="notifications.webhooks")
