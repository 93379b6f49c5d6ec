from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Privacy Desk"

    def ready(self) -> None:
        from helpdesk.reference_data import ensure_reference_data

        post_migrate.connect(ensure_reference_data, dispatch_uid="privacy_desk_reference_data")
