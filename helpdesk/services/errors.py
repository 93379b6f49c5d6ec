"""The desk's expected failures, each with the HTTP answer it maps to (one mapping for HTML and JSON).

``message`` (``str(error)``) is safe to show to the user; :class:`GuardError` adds field errors.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base for the desk's expected failures."""

    http_status = 400
    code = "invalid"


class ConflictError(ServiceError):
    """Someone else changed the ticket since it was loaded (optimistic lock)."""

    http_status = 409
    code = "conflict"


class TransitionNotAllowedError(ServiceError):
    """The transition does not exist or cannot run from the ticket's current state."""

    http_status = 409
    code = "transition_not_allowed"


class PermissionDeniedError(ServiceError):
    """The actor may not do this to this ticket."""

    http_status = 403
    code = "permission_denied"


class GuardError(ServiceError):
    """The action needs data it was not given, or the ticket is not ready; ``errors``: field → message."""

    http_status = 400
    code = "guard_failed"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
