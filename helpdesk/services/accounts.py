"""Staff passwords in the desk (issue 28): staff change their own, a manager resets an administrator's.

Both are audited on the desk-wide chain (never the password itself). From the command line:
``python manage.py changepassword USERNAME`` (README, "Lost password").
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from helpdesk.models import User
from helpdesk.services.errors import PermissionDeniedError
from helpdesk.trust import audit
from workflows.roles import is_desk_staff, is_manager


@transaction.atomic
def change_own_password(*, user: User, new_password: str) -> None:
    """The caller's form has checked the old password and the password validators."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record_event(ticket=None, actor=user, action="staff.password_changed", data={"user": user.username})


@transaction.atomic
def reset_password(*, user: User, new_password: str, actor: User) -> None:
    """A manager sets a new password for another member of staff (who should change it after signing in)."""
    if not is_manager(actor) or not is_desk_staff(user) or user.pk == actor.pk:
        raise PermissionDeniedError(_("Only a manager can reset another staff member's password."))
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record_event(ticket=None, actor=actor, action="staff.password_reset", data={"user": user.username})
