"""The benchmarks' shared database set-up: a throw-away PostgreSQL database, Django pointed at it,
COPY loading of model rows, and timing pages through the test client.

    with pgdb.database("pd_bench_x", reuse=args.reuse, keep=args.keep) as reused:
        ...  # Django is set up; the database is fresh unless ``reused``
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def recreate_database(name: str, server: str = SERVER) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str, server: str = SERVER) -> None:
    import psycopg

    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(name: str, server: str = SERVER) -> None:
    """Production-like settings (DEBUG off, quiet logs) on the benchmark database."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"{server}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DESK_LOCMEM_CACHE", "true")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    logging.disable(logging.INFO)


@contextmanager
def database(name: str, *, reuse: bool = False, keep: bool = False) -> Iterator[bool]:
    """A fresh database (or, with ``reuse``, the one a ``keep`` run left), migrated, with Django set
    up on it; dropped afterwards unless kept or reused. Yields whether it was reused."""
    if not reuse:
        recreate_database(name)
    setup_django(name)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # on a reused database: indexes and tables added since
    try:
        yield reuse
    finally:
        if not (keep or reuse):
            drop_database(name)


def copy_rows(model: Any, rows: Iterable[dict[str, Any]]) -> int:
    """COPY rows (dicts by attname or column) into the model's table; every other column gets its
    default (callable defaults evaluated per row) or NULL. Benchmark data, not a desk workflow."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key and not getattr(f, "generated", False)]
    count = 0
    with connection.cursor() as cursor:
        copy_sql = f"COPY {model._meta.db_table} ({', '.join(f.column for f in fields)}) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                values = []
                for f in fields:
                    if f.attname in row:
                        value = row[f.attname]
                    elif f.column in row:
                        value = row[f.column]
                    elif f.has_default():
                        value = f.get_default()
                    else:
                        value = None if f.null else ""
                    values.append(None if value is None else f.get_db_prep_save(value, connection))
                copy.write_row(values)
                count += 1
    return count


def vacuum_analyze() -> None:
    """Statistics and the visibility map (index-only scans) after a bulk load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def time_get(client: Any, path: str, runs: int) -> dict[str, Any]:
    """GET ``path`` once to warm up, then ``runs`` times: median and max in ms, distinct query counts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)
    times, queries = [], set()
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        queries.add(len(ctx.captured_queries))
    return {"median_ms": statistics.median(times), "max_ms": max(times), "queries": sorted(queries)}


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"
