"""Requesters (found by address) and the human ticket references ``PRIV-YYYY-NNNN``."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from helpdesk.models import Requester, TicketCounter
from workflows.calendar import local_date


def normalize_email(email: str) -> str:
    return email.strip().lower()


def get_or_create_requester(
    *, email: str, name: str = "", phone: str = "", organization: str = "", language: str | None = None,
    postal_address: str = "",
) -> Requester:
    """Find the requester by address; fill in details they did not give before.

    Someone without an e-mail address (a phone call, a letter) is found by the same phone number
    and name among requesters who have none either; a shared line or a household's address is not
    enough to put two people's requests together.
    """
    defaults = {"name": name.strip()[:200], "phone": phone.strip()[:50], "organization": organization[:200],
                "language": language or "ko", "postal_address": postal_address[:500]}
    address = normalize_email(email)
    if address:
        requester, created = Requester.objects.get_or_create(email=address, defaults=defaults)
    else:
        known = Requester.objects.filter(email__isnull=True, phone=defaults["phone"], name=defaults["name"])
        same_caller = known.order_by("pk").first() if defaults["phone"] else None
        created = same_caller is None
        requester = same_caller or Requester.objects.create(email=None, **defaults)
    if not created:
        changed = fill_in_requester(requester, name=name, phone=phone, organization=organization,
                                    postal_address=postal_address)
        if changed:
            requester.save(update_fields=changed)
    return requester


def fill_in_requester(requester: Requester, *, name: str = "", phone: str = "", organization: str = "",
                      postal_address: str = "") -> list[str]:
    """Details the requester gives now but did not give before; returns the changed fields."""
    changed = []
    for attr, value, limit in (("name", name, 200), ("phone", phone, 50), ("organization", organization, 200),
                               ("postal_address", postal_address, 500)):
        value = value.strip()
        if value and not getattr(requester, attr):
            setattr(requester, attr, value[:limit])
            changed.append(attr)
    return changed


def next_reference(received_at: datetime) -> str:
    """``PRIV-2026-0001``: per-year counter on a locked row, unique under concurrency."""
    return reserve_references(received_at, 1)[0]


def reserve_references(received_at: datetime, count: int) -> list[str]:
    """``count`` consecutive references for the year of ``received_at``, in one statement."""
    year = local_date(received_at).year
    table = connection.ops.quote_name(TicketCounter._meta.db_table)
    # One statement in the common case; the UPDATE's row lock serialises concurrent creators.
    sql = f"UPDATE {table} SET last_number = last_number + %s WHERE year = %s RETURNING last_number"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, year])
        row = cursor.fetchone()
        if row is None:  # first ticket of the year
            TicketCounter.objects.bulk_create([TicketCounter(year=year, last_number=0)], ignore_conflicts=True)
            cursor.execute(sql, [count, year])
            row = cursor.fetchone()
    last = row[0]
    return [f"PRIV-{year}-{number:04d}" for number in range(last - count + 1, last + 1)]
