from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The staff desk (views under /desk/); an app so its template tags load and its task registers."""

    name = "helpdesk.desk"
    label = "desk"
    verbose_name = "Privacy Desk staff UI"

    def ready(self) -> None:
        from helpdesk.desk import tasks  # noqa: F401 - registers the bulk job's task by name
