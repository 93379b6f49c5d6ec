"""``manage.py find_personal_data EMAIL [--json]``: the contract's JSON shape and exit statuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.fulfilment.conftest import HttpService, crm_toml, http_toml


def run(*args: str) -> tuple[str, int]:
    out = StringIO()
    try:
        call_command("find_personal_data", *args, stdout=out)
    except SystemExit as exc:
        return out.getvalue(), int(exc.code or 0)
    return out.getvalue(), 0


def test_json_has_the_contract_shape(use_sources: Callable[[str], Path], crm_db: Path,
                                     http_service: HttpService) -> None:
    use_sources(crm_toml(crm_db) + http_toml(http_service))
    out, status = run("Requester@Example.com", "--json")
    assert status == 0
    data = json.loads(out)
    assert set(data) == {"sources"}
    for source in data["sources"]:
        assert set(source) == {"name", "tables", "error"}
        for table in source["tables"]:
            assert {"name", "records", "erase"} <= set(table)
    crm = data["sources"][0]
    assert crm["name"] == "crm" and crm["error"] is None
    assert crm["tables"][0] == {"name": "customers", "erase": "delete", "records": [
        {"name": "홍길동", "email": "requester@example.com", "phone": "010-1234-5678", "company": "길동상사"}]}
    assert data["sources"][1]["tables"][0]["records"][0]["list"] == "product-news"


def test_text_output_and_a_failed_source_exit_2(use_sources: Callable[[str], Path], crm_db: Path,
                                                http_service: HttpService) -> None:
    use_sources(crm_toml(crm_db) + http_toml(http_service))
    http_service.stop()
    out, status = run("requester@example.com")
    assert status == 2
    assert "crm.customers: 1 record(s), on erasure: delete" in out
    assert "newsletter: FAILED" in out


def test_usage_errors(use_sources: Callable[[str], Path], settings: object) -> None:
    with pytest.raises(CommandError, match="no data sources configured"):
        run("a@example.com")
    use_sources('[[source]]\nname="x"\nurl="sqlite://"\n[[source.table]]\nname="t"\nmatch="e"\nerase="nuke"\n')
    with pytest.raises(CommandError, match="erase = 'nuke'"):
        run("a@example.com")
    with pytest.raises(CommandError, match="not an e-mail address"):
        run("not-an-address")
