"""Property-based fuzzing of the API against its own OpenAPI schema (schemathesis, in-process WSGI).

Authenticated as a manager with a token over a seeded data set. Positive data: no 5xx, every status
code and content type documented, every JSON body valid against the schema. Negative data
(schema-violating input): still never a 5xx.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import DataSet

POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_schema_conformance]
FUZZ = settings(max_examples=25, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


def _load(mode: GenerationMode, headers: dict[str, str]) -> Any:
    from config.wsgi import application

    # The schema is staff only (issue 25.15): fetched with the manager's token.
    loaded = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application, headers=headers)
    loaded.config.generation.update(modes=[mode], database="none")
    return loaded


@pytest.fixture(autouse=True)
def _keep_test_connection() -> Any:
    """Calling the WSGI app directly fires request_started/finished, whose handler would close the
    test's database connection mid-transaction (Django's test client disconnects it the same way)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(manager_headers: dict[str, str]) -> Any:
    return _load(GenerationMode.POSITIVE, manager_headers)


@pytest.fixture
def negative_schema(manager_headers: dict[str, str]) -> Any:
    return _load(GenerationMode.NEGATIVE, manager_headers)


@pytest.fixture
def manager_headers(dataset: DataSet) -> dict[str, str]:
    token, _ = Token.objects.get_or_create(user=dataset.manager)
    return {"Authorization": f"Token {token.key}"}


def _fuzz(loaded: Any, headers: dict[str, str], checks_for: Any) -> None:
    """Run every operation of the schema through Hypothesis; report all failing operations at once."""
    failures: list[str] = []
    operations = 0
    for result in loaded.get_all_operations():
        operation = result.ok()
        if operation.path.startswith("/api/v1/schema"):
            continue
        operations += 1

        try:
            _hypothesis_test(operation, headers, checks_for(operation))()
        except Exception as exc:  # collected: one report for the whole API
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 20
    assert not failures, "\n\n".join(failures)


def _hypothesis_test(operation: Any, headers: dict[str, str], checks: list[Any]) -> Any:
    @given(case=operation.as_strategy())
    @FUZZ
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    return run


def _positive_checks(operation: Any) -> list[Any]:
    if "/exports/" in operation.path:
        # CSV/XLSX bodies: no JSON schema to conform to; status codes and no 5xx still apply.
        return [not_a_server_error, status_code_conformance, content_type_conformance]
    return POSITIVE_CHECKS


@pytest.mark.slow
def test_api_conforms_to_its_schema(api_schema: Any, manager_headers: dict[str, str]) -> None:
    _fuzz(api_schema, manager_headers, _positive_checks)


@pytest.mark.slow
def test_invalid_input_never_causes_a_server_error(negative_schema: Any, manager_headers: dict[str, str]) -> None:
    _fuzz(negative_schema, manager_headers, lambda operation: [not_a_server_error])
