"""An access package's file goes when its row goes (ticket purged by retention, erased, replaced)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from helpdesk.fulfilment.models import AccessPackage
from helpdesk.trust.destroy import destroy_stored_file


def destroy_package_file(sender: type[AccessPackage], instance: AccessPackage, **kwargs: Any) -> None:
    storage, name = instance.file.storage, instance.file.name
    if name:  # only once the deletion is committed: a rollback keeps row and file together
        transaction.on_commit(lambda: destroy_stored_file(storage, name))
