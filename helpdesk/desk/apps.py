from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The staff desk (views under /desk/); an app only so its template tags load."""

    name = "helpdesk.desk"
    label = "desk"
    verbose_name = "Privacy Desk staff UI"
