"""Enqueue a Celery task by its name.

Services and sweeps enqueue work without importing the task modules: the tasks import the
services they wrap, never the other way round. Each app imports its own task module in
``AppConfig.ready()`` so the names are registered in every process (web, worker, commands).
The app is the current one (``config.celery``, loaded with the settings): the domain never imports
the project package.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args: Any, **kwargs: Any) -> bool:
    """``task.delay(*args, **kwargs)``; False (logged) when the broker cannot take it.

    Every caller has a sweep that retries work left pending, so a broker outage loses nothing.
    """
    try:
        current_app.tasks[task_name].delay(*args, **kwargs)
    except Exception:
        logger.exception("could not enqueue %s%r", task_name, args)
        return False
    return True
