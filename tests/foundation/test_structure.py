"""The one-place rules: the transition registry, the visibility rule and the error mapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from helpdesk import services
from helpdesk.api.exceptions import api_exception_handler
from helpdesk.api.serializers import TransitionSerializer
from helpdesk.desk.forms import TRANSITION_FORMS
from helpdesk.models import AuditEvent, Ticket
from workflows import transitions
from workflows.models import SlaPolicy
from workflows.roles import can_act_on_ticket, can_view_ticket, ticket_scope
from workflows.states import TicketState

ROOT = Path(__file__).resolve().parents[2]


# --- The registry -------------------------------------------------------------------------------
def test_every_entry_is_a_django_fsm_transition_with_its_sources_and_targets() -> None:
    field = Ticket._meta.get_field("state")
    fsm = {(str(t.source), t.name) for t in field.get_all_transitions(Ticket)}  # type: ignore[attr-defined]
    declared = {(str(source), spec.name) for spec in transitions.REGISTRY.values() for source in spec.source}
    assert fsm == declared
    for spec in transitions.REGISTRY.values():
        assert set(spec.targets()) <= set(TicketState.values), spec.name


def test_desk_forms_and_api_fields_come_from_the_registry() -> None:
    for name, spec in transitions.REGISTRY.items():
        form = TRANSITION_FORMS[name]()
        assert set(form.fields) == {"version", *(f.name for f in spec.fields)}
        for item in spec.fields:
            assert form.fields[item.name].required is (item.required_message is not None), (name, item.name)
    api_fields = set(TransitionSerializer().fields) - {"expected_version"}
    declared = {item.name for spec in transitions.REGISTRY.values() for item in spec.fields}
    assert api_fields == declared


def test_labels_are_bilingual() -> None:
    for spec in transitions.REGISTRY.values():
        with translation.override("ko"):
            korean = str(spec.label)
        with translation.override("en"):
            english = str(spec.label)
        assert korean != english, f"{spec.name} has no Korean label"


def test_the_desk_lists_transitions_in_registry_order() -> None:
    orders = [transitions.REGISTRY[name].order for name in transitions.NAMES]
    assert orders == sorted(orders)
    assert transitions.NAMES[:3] == ("verify", "process", "respond")  # the spine first


def test_clean_reports_every_missing_field_at_once() -> None:
    with pytest.raises(transitions.InvalidTransitionData) as caught:
        transitions.REGISTRY["reject"].clean({"reason": "not-a-reason"})
    assert set(caught.value.errors) == {"reason", "explanation"}
    with pytest.raises(transitions.InvalidTransitionData) as caught:
        transitions.REGISTRY["verify"].clean({"verification_method": "other", "note": "  "})
    assert set(caught.value.errors) == {"note"}


@pytest.mark.django_db
def test_another_app_can_add_a_guard(make_ticket: Any, manager: Any, monkeypatch: Any) -> None:
    """What the fulfilment app does for ``process``: its guard runs like the entry's own."""
    monkeypatch.setattr(transitions, "_extra_guards", {})
    ticket = make_ticket()
    services.transition_ticket(ticket=ticket, name="verify", actor=manager, verification_method="email_link")
    blocked = {"ok": False}
    transitions.add_guard("process", transitions.Guard(lambda t: blocked["ok"], "fulfilment", "not yet"))
    with pytest.raises(services.GuardError) as caught:
        services.transition_ticket(ticket=ticket, name="process", actor=manager, note="done")
    assert caught.value.errors == {"fulfilment": "not yet"}
    blocked["ok"] = True
    services.transition_ticket(ticket=ticket, name="process", actor=manager, note="done")
    ticket.refresh_from_db()
    assert ticket.state == TicketState.PROCESSED
    with pytest.raises(KeyError):
        transitions.add_guard("no_such_transition", transitions.Guard(lambda t: True, "x", "y"))


def test_graph_command_draws_the_registry() -> None:
    out = subprocess.run([sys.executable, "manage.py", "graph_transitions"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    for spec in transitions.REGISTRY.values():
        for source in spec.source:
            for target in spec.targets():
                assert f"{source} --> {target}: {spec.name}" in out


# --- One visibility rule --------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_queryset_filter_and_the_object_check_agree(make_ticket: Any, admin_user: Any, other_admin: Any,
                                                        manager: Any, django_user_model: Any) -> None:
    outsider = django_user_model.objects.create_user(username="outsider", password="x-Very-long-password-1")
    tickets = [make_ticket(email=f"r{n}@example.com") for n in range(3)]
    Ticket.objects.filter(pk=tickets[0].pk).update(assignee=admin_user)
    Ticket.objects.filter(pk=tickets[1].pk).update(assignee=other_admin)
    Ticket.objects.filter(pk=tickets[2].pk).update(assignee=None)
    for user in (admin_user, other_admin, manager, outsider):
        for unassigned in (True, False):
            scope = ticket_scope(user, unassigned=unassigned)
            by_query = set(Ticket.objects.filter(scope.q()).values_list("pk", flat=True))
            by_object = {t.pk for t in Ticket.objects.all() if scope.allows(t)}
            assert by_query == by_object, (user.username, unassigned)
    fresh = {t.pk: t for t in Ticket.objects.all()}
    assert can_view_ticket(admin_user, fresh[tickets[2].pk]) and not can_act_on_ticket(admin_user, fresh[tickets[2].pk])
    assert not can_view_ticket(admin_user, fresh[tickets[1].pk])
    assert not can_view_ticket(outsider, fresh[tickets[0].pk])


# --- One error mapping ----------------------------------------------------------------------------
@pytest.mark.parametrize(("error", "status", "code"), [
    (services.ConflictError("changed"), 409, "conflict"),
    (services.TransitionNotAllowedError("no"), 409, "transition_not_allowed"),
    (services.PermissionDeniedError("no"), 403, "permission_denied"),
    (services.GuardError({"note": "needed"}), 400, "guard_failed"),
    (services.ServiceError("bad"), 400, "invalid"),
])
def test_service_errors_carry_one_http_answer(error: services.ServiceError, status: int, code: str) -> None:
    response = api_exception_handler(error, {})
    assert response is not None
    assert (response.status_code, response.data["error"]["code"]) == (status, code)
    assert (error.http_status, error.code) == (status, code)


# --- The layer contract -----------------------------------------------------------------------------
def test_import_linter_contract_holds() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Contracts: 3 kept, 0 broken." in result.stdout


# --- Deadline policies: the API and the admin both write through the service (audited) --------------
@pytest.mark.django_db
def test_policy_changes_from_the_api_and_the_admin_are_audited(manager: Any, django_user_model: Any) -> None:
    policy = SlaPolicy.objects.order_by("pk").first()
    assert policy is not None
    api = APIClient()
    api.force_authenticate(manager)
    response = api.patch(f"/api/v1/sla-policies/{policy.pk}/", {"period": 9}, format="json")
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.filter(action="sla_policy.changed").latest("pk")
    assert event.data["policy"] == policy.pk and event.data["period"] == 9

    root = django_user_model.objects.create_superuser(username="root", password="x-Very-long-password-1",
                                                       email="root@example.com")
    admin = Client()
    admin.force_login(root)
    form = {"request_type": policy.request_type, "jurisdiction": policy.jurisdiction, "legal_basis": "PIPA",
            "period": 8, "unit": policy.unit, "extension_period": policy.extension_period,
            "extension_unit": policy.extension_unit, "max_extensions": policy.max_extensions,
            "reminder_offsets": "3, 1, 0", "escalation_emails": ""}
    response = admin.post(f"/admin/workflows/slapolicy/{policy.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    policy.refresh_from_db()
    assert policy.period == 8
    event = AuditEvent.objects.filter(action="sla_policy.changed").latest("pk")
    assert event.actor_id == root.pk and event.data["period"] == 8


def test_processes_that_serve_no_pages_do_not_load_the_admin() -> None:
    """SimpleAdminConfig: the admin modules load with the URLs (``admin.autodiscover()`` in
    config/urls.py), not in every ``django.setup()`` — an MTA starts ``ingest_email`` per mail."""
    code = ("import sys, django; django.setup(); import helpdesk.management.commands.ingest_email; "
            "print(sorted(m for m in ('helpdesk.admin', 'helpdesk.policy_admin') if m in sys.modules)); "
            "import config.urls; from django.contrib import admin; from helpdesk.models import Ticket; "
            "print(admin.site.is_registered(Ticket))")
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "DESK_LOCMEM_CACHE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split() == ["[]", "True"]


# --- The shape of the code (issue 24) --------------------------------------------------------------
PACKAGES = ("config", "helpdesk", "notifications", "workflows")


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
                  if "migrations" not in path.parts)


def test_no_module_is_over_400_lines() -> None:
    long = {str(path.relative_to(ROOT)): n for path in _modules()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


@pytest.mark.parametrize("name", ["Quarantine", "decide", "preview_erasure", "ErasurePlan"])
def test_each_name_means_one_thing(name: str) -> None:
    """A class or function name the domain defines once: the desk's erasure and fulfilment's, the mail
    decision and the quarantine table, each have their own (views and URL maps aside)."""
    import ast

    defined = [str(path.relative_to(ROOT)) for path in _modules() if path.name not in ("views.py", "urls.py")
               for node in ast.parse(path.read_text(encoding="utf-8")).body
               if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == name]
    assert len(defined) <= 1, defined
