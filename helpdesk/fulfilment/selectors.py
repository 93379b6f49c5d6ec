"""Reads for fulfilment: the ticket page's panel and the ``process`` guard."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from helpdesk.fulfilment.config import ConfigError, SourceConfig, configured_sources
from helpdesk.fulfilment.models import (
    AccessPackage,
    DataLookup,
    ErasurePlan,
    ErasureStatus,
    ManualFulfilment,
    PackageStatus,
)
from helpdesk.models import Ticket, User
from workflows.request_types import RequestType
from workflows.roles import can_act_on_ticket
from workflows.states import TicketState
from workflows.transitions import Guard

ACCESS_TYPES = frozenset({RequestType.ACCESS})
# Consent withdrawal changes only the tables whose erase mode is "set" (e.g. a marketing opt-in).
ERASE_TYPES = frozenset({RequestType.DELETION, RequestType.CONSENT_WITHDRAWAL, RequestType.MEMBERSHIP_WITHDRAWAL})
# The request types that cannot reach "processed" without a fulfilment or a reason (issue 13).
GUARDED_TYPES = frozenset({RequestType.ACCESS, RequestType.DELETION})
FULFILMENT_STATES = frozenset({TicketState.VERIFIED})


def latest_lookup(ticket: Ticket) -> DataLookup | None:
    return DataLookup.objects.filter(ticket=ticket).order_by("-created_at", "-id").first()


def latest_package(ticket: Ticket) -> AccessPackage | None:
    return AccessPackage.objects.filter(ticket=ticket).order_by("-built_at", "-id").first()


def latest_plan(ticket: Ticket) -> ErasurePlan | None:
    return ErasurePlan.objects.filter(ticket=ticket).order_by("-created_at", "-id").first()


def released_packages(ticket: Ticket) -> list[AccessPackage]:
    return list(AccessPackage.objects.filter(ticket=ticket, status=PackageStatus.RELEASED).order_by("-released_at"))


def processing_blocker(ticket: Ticket) -> str | None:
    """Why an access/deletion ticket may not be marked processed yet, or None when it may."""
    if ticket.request_type not in GUARDED_TYPES:
        return None
    if ManualFulfilment.objects.filter(ticket=ticket).exists():
        return None
    if ticket.request_type in ACCESS_TYPES:
        if AccessPackage.objects.filter(ticket=ticket, status=PackageStatus.RELEASED).exists():
            return None
        return _("Release the access package to the requester first, or record why the request was carried "
                 "out by hand.")
    if ErasurePlan.objects.filter(ticket=ticket, status=ErasureStatus.DONE).exists():
        return None
    return _("Complete the erasure first, or record why the request was carried out by hand.")


def _access_done(ticket: Ticket) -> bool:
    return ticket.request_type not in ACCESS_TYPES or processing_blocker(ticket) is None


def _erasure_done(ticket: Ticket) -> bool:
    return ticket.request_type not in GUARDED_TYPES - ACCESS_TYPES or processing_blocker(ticket) is None


# Registered on the transition registry's "process" entry (apps.py); field "fulfilment" in the errors.
PROCESS_GUARDS = (
    Guard(_access_done, "fulfilment", _lazy("Release the access package to the requester first, or record why the "
                                            "request was carried out by hand.")),
    Guard(_erasure_done, "fulfilment", _lazy("Complete the erasure first, or record why the request was carried out "
                                             "by hand.")),
)


def sources_or_error() -> tuple[tuple[SourceConfig, ...], str]:
    try:
        return configured_sources(), ""
    except ConfigError as exc:
        return (), str(exc)


@dataclass(frozen=True)
class ErasureImpact:
    """What approving an erasure will do, in numbers, for the confirmation (issue 28)."""

    rows_deleted: int
    tables_deleted: int
    rows_changed: int  # anonymised or set (e.g. the marketing opt-in turned off)
    tables_changed: int
    kept: list[tuple[str, str]]  # (source / table, the legal reason it is kept)


def erasure_impact(steps: list[Any]) -> ErasureImpact:
    deleted = [s for s in steps if s.action == "delete"]
    changed = [s for s in steps if s.action in ("anonymize", "set")]
    return ErasureImpact(
        rows_deleted=sum(s.found for s in deleted), tables_deleted=len(deleted),
        rows_changed=sum(s.found for s in changed), tables_changed=len(changed),
        kept=[(f"{s.source} / {s.table}", s.keep_reason) for s in steps if s.action == "keep"],
    )


@dataclass(frozen=True)
class ReleaseImpact:
    """What releasing an access package hands over, for the confirmation."""

    records: int
    tables: int
    days: int  # how long the requester's download link works


def release_impact(package: AccessPackage) -> ReleaseImpact:
    tables = package.contents.get("tables", [])
    return ReleaseImpact(records=sum(int(t.get("records", 0)) for t in tables), tables=len(tables),
                         days=settings.DESK_ACCESS_PACKAGE_DAYS)


def waits_for_second_person(prepared_by_id: int | None, user: User) -> bool:
    """DESK_FOUR_EYES: the user prepared the step, so someone else must carry it out."""
    return bool(getattr(settings, "DESK_FOUR_EYES", False)) and prepared_by_id == user.pk


@dataclass
class Panel:
    """What the ticket page shows under "Personal data found"."""

    kind: str  # "access" | "erase"
    sources: tuple[SourceConfig, ...]
    config_error: str
    may_act: bool
    lookup: DataLookup | None
    package: AccessPackage | None
    plan: ErasurePlan | None
    steps: list[Any] = field(default_factory=list)
    manual: list[ManualFulfilment] = field(default_factory=list)
    blocker: str | None = None
    before_verification: bool = False  # the lookup waits until the requester's identity is checked
    erasure_impact: ErasureImpact | None = None
    release_impact: ReleaseImpact | None = None
    second_person_needed: bool = False  # four eyes: this user prepared the step shown

    @property
    def can_look_up(self) -> bool:
        busy = self.lookup is not None and self.lookup.is_running and not self.lookup.is_stale
        return self.may_act and bool(self.sources) and not busy


def panel(ticket: Ticket, user: User) -> Panel | None:
    """The panel for access and erasure requests (None for other types): a constant few queries."""
    if ticket.request_type in ACCESS_TYPES:
        kind = "access"
    elif ticket.request_type in ERASE_TYPES:
        kind = "erase"
    else:
        return None
    sources, error = sources_or_error()
    plan = latest_plan(ticket) if kind == "erase" else None
    package = latest_package(ticket) if kind == "access" else None
    steps = list(plan.steps.all()) if plan else []
    prepared_by = plan.created_by_id if plan else package.built_by_id if package else None
    return Panel(
        kind=kind, sources=sources, config_error=error,
        may_act=can_act_on_ticket(user, ticket) and ticket.state in FULFILMENT_STATES,
        lookup=latest_lookup(ticket),
        package=package, plan=plan, steps=steps,
        erasure_impact=erasure_impact(steps) if plan else None,
        release_impact=release_impact(package) if package else None,
        second_person_needed=waits_for_second_person(prepared_by, user),
        manual=list(ManualFulfilment.objects.filter(ticket=ticket).select_related("recorded_by")),
        blocker=processing_blocker(ticket),
        before_verification=ticket.verified_at is None and ticket.state in (TicketState.RECEIVED,
                                                                            TicketState.AWAITING_REQUESTER),
    )
