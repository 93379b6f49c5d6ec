"""Privacy Desk: the Django project and the ticket domain."""

from helpdesk.celery import app as celery_app

__all__ = ["celery_app"]
