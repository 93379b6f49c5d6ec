"""The Celery application. Without ``CELERY_BROKER_URL`` tasks run eagerly, in-process.

Database connections are reused across tasks (issue 31: a surge of 5,841 tickets opened 11,959
PostgreSQL sessions). Celery's Django fixup closes every connection before and after each task
unless ``CELERY_DB_REUSE_MAX`` is set, and even then every 2 × that many tasks; here it is set
very high and each task instead starts and ends with Django's own ``close_old_connections``, which
keeps a connection for ``CONN_MAX_AGE`` seconds (``DB_CONN_MAX_AGE``, 60 by default), checks its
health before reuse (``CONN_HEALTH_CHECKS``) and drops one left broken or inside a transaction, as a
web request does.
"""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("privacy_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf["CELERY_DB_REUSE_MAX"] = 1_000_000_000  # read by celery.fixups.django; ours decide (below)
app.autodiscover_tasks()


@task_prerun.connect(weak=False, dispatch_uid="privacy-desk-db-prerun")
@task_postrun.connect(weak=False, dispatch_uid="privacy-desk-db-postrun")
def _reuse_connections(sender: Any = None, **_kwargs: Any) -> None:
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # an eager task runs inside the caller's request or transaction: leave its connection be
    from django.db import close_old_connections

    close_old_connections()
