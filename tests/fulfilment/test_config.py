"""The data sources file: the issue's example parses; every mistake is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.fulfilment.config import ConfigError, load_sources, parse_sources

ISSUE_EXAMPLE = """
[[source]]
name = "crm"                                   # shown to staff
url = "postgresql://reader@db.internal/crm"    # any SQLAlchemy URL; secrets via ${ENV_VAR}
[[source.table]]
name = "customers"
match = "email"
export = ["name", "email", "phone", "company"]
erase = "delete"
keep_reason = ""
[[source.table]]
name = "orders"
match = "customer_email"
erase = "keep"
keep_reason = "Commercial Act: transaction records 5 years"

[[source]]
name = "newsletter"
kind = "http"
url = "https://newsletter.internal/dsr"
token = "${NEWSLETTER_DSR_TOKEN}"
"""


def test_the_issue_example_is_understood() -> None:
    crm, newsletter = parse_sources(ISSUE_EXAMPLE, environ={"NEWSLETTER_DSR_TOKEN": "t0ken"})
    assert crm.kind == "sql" and crm.url == "postgresql+psycopg://reader@db.internal/crm"
    assert [t.name for t in crm.tables] == ["customers", "orders"]
    assert crm.tables[0].export == ("name", "email", "phone", "company")
    assert crm.tables[1].erase == "keep" and crm.tables[1].keep_reason.startswith("Commercial Act")
    assert newsletter.kind == "http" and newsletter.token == "t0ken"
    assert "t0ken" not in repr(newsletter)


def test_secrets_come_from_the_environment_and_are_hidden_for_display() -> None:
    (source,) = parse_sources('[[source]]\nname="a"\nurl="postgresql://u:${PW}@h/db"\n'
                              '[[source.table]]\nname="t"\nmatch="email"\n', environ={"PW": "hunter2"})
    assert "hunter2" in source.url
    assert "hunter2" not in source.safe_url and "***" in source.safe_url


def test_a_missing_environment_variable_is_an_error_not_an_empty_secret() -> None:
    with pytest.raises(ConfigError, match="environment variable NEWSLETTER_DSR_TOKEN is not set"):
        parse_sources(ISSUE_EXAMPLE, environ={})


@pytest.mark.parametrize(("table", "message"), [
    ('erase = "shred"', "erase = 'shred' is not one of delete, anonymize, keep, set"),
    ('erase = "keep"', "needs a keep_reason"),
    ('erase = "anonymize"', "needs anonymize = \\[columns"),
    ('erase = "set"', "needs set = "),
    ('erase = "delete"\nanonymize = ["name"]', "only used with erase = 'anonymize'"),
    ('export = "name"', "'export' must be a list of column names"),
    ('colums = ["x"]', "unknown field\\(s\\) colums"),
    ('export = ["name", "name"]', "names a column twice"),
])
def test_table_mistakes_name_the_source_table_and_field(table: str, message: str) -> None:
    text = (f'[[source]]\nname = "crm"\nurl = "sqlite:///x.db"\n[[source.table]]\nname = "customers"\n'
            f'match = "email"\n{table}\n')
    with pytest.raises(ConfigError, match=message) as info:
        parse_sources(text)
    assert "source 'crm'" in str(info.value) and "'customers'" in str(info.value)


@pytest.mark.parametrize(("source", "message"), [
    ('name = "crm"\nurl = "sqlite:///x.db"', "needs at least one \\[\\[source.table\\]\\]"),
    ('name = "crm"\nkind = "ftp"\nurl = "ftp://x"', "kind = 'ftp' is not one of sql, http"),
    ('name = "crm"\nurl = "not a url"\n[[source.table]]\nname="t"\nmatch="e"', "not a SQLAlchemy URL"),
    ('name = "a b; drop"\nurl = "sqlite://"', "name may use letters"),
    ('name = "n"\nkind = "http"\nurl = "file:///etc/passwd"', "needs an http\\(s\\):// url"),
    ('name = "n"\nurl = "sqlite://"\nstatement_timeout = 0\n[[source.table]]\nname="t"\nmatch="e"',
     "between 0 and 600"),
    ('name = "n"\nurl = "sqlite://"\ntoken = "x"\n[[source.table]]\nname="t"\nmatch="e"', "belongs to http sources"),
    ('url = "sqlite://"', "'name' is required"),
])
def test_source_mistakes_are_clear(source: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_sources(f"[[source]]\n{source}\n")


def test_broken_toml_and_duplicate_sources() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_sources("[[source]\nname=")
    one = '[[source]]\nname="a"\nurl="sqlite://"\n[[source.table]]\nname="t"\nmatch="e"\n'
    with pytest.raises(ConfigError, match="same name"):
        parse_sources(one + one)


def test_missing_file_is_an_error_and_no_file_means_no_sources(tmp_path: Path) -> None:
    assert load_sources("") == ()
    with pytest.raises(ConfigError, match="does not exist"):
        load_sources(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nname="x"\nkind="mail"\nurl="x"\n')
    with pytest.raises(ConfigError, match=str(bad)):
        load_sources(bad)


@pytest.mark.parametrize("table", ["../../etc/cron.d/x", "a/b", "..", ".hidden", "a b", "x" * 64])
def test_a_table_name_that_could_leave_its_folder_in_the_package_is_refused(table: str) -> None:
    """Issue 25.16: a table name becomes a file name in the access package's ZIP."""
    text = f'[[source]]\nname = "crm"\nurl = "sqlite://"\n[[source.table]]\nname = "{table}"\nmatch = "email"\n'
    with pytest.raises(ConfigError, match="table name may use"):
        parse_sources(text)


@pytest.mark.django_db
def test_the_package_never_writes_an_entry_outside_its_folder(make_ticket: object) -> None:
    """Even from a lookup stored before names were checked (or any other way a name gets in)."""
    import io
    import zipfile
    from types import SimpleNamespace

    from django.utils import timezone

    from helpdesk.fulfilment.services import package_bytes

    ticket = make_ticket()  # type: ignore[operator]
    sources = [{"name": "../crm", "kind": "sql", "error": None, "tables": [
        {"name": "../../evil", "records": [{"email": "a@example.com"}], "erase": "keep"},
        {"name": "/abs/path", "records": [{"email": "a@example.com"}], "erase": "keep"},
        {"name": "__evil", "records": [{"email": "a@example.com"}], "erase": "keep"}]}]
    lookup = SimpleNamespace(sources=sources, email="a@example.com", total_records=3, erased_at=None)
    data, _summary = package_bytes(ticket, lookup, timezone.now())  # type: ignore[arg-type]
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert len(names) == len(set(names)) == 5
    for name in names:
        assert not name.startswith(("/", ".")) and ".." not in name.split("/") and "\\" not in name
        assert name.count("/") <= 1
