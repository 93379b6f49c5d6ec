"""The Django project around the ticket domain: settings, URLs, WSGI, the Celery app, logging and the
project-wide middleware (HackSoft's ``config/``). The domain lives in ``helpdesk``, ``workflows`` and
``notifications``."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
