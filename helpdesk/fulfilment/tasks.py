"""Celery tasks: the slow talks with the company's systems, outside the desk's transactions."""

from __future__ import annotations

from celery import shared_task

from helpdesk.fulfilment import erasure, services


@shared_task(name="helpdesk.fulfilment.tasks.run_lookup")
def run_lookup(lookup_pk: int, only_failed: bool = False) -> str:
    return str(services.run_lookup(lookup_pk, only_failed=only_failed).status)


@shared_task(name="helpdesk.fulfilment.tasks.run_erasure")
def run_erasure(plan_pk: int) -> str:
    return str(erasure.run_erasure(plan_pk).status)
