"""Trigram indexes for the search by a requester's address or name (PostgreSQL only).

The desk's search matches requesters with ``icontains``, which compiles to
``UPPER(email::text) LIKE UPPER('%…%')``: no B-tree can serve it, so every search read the whole
requester table (16 ms at 50,000 requesters, twice per page: the list and its count). A GIN index
with ``gin_trgm_ops`` on exactly that expression serves any substring of three characters or more
(Korean included: pg_trgm hashes non-ASCII trigrams). pg_trgm ships with PostgreSQL and is a
trusted extension (PostgreSQL 13+): the database's owner may create it. Going back drops the
indexes but keeps the extension, which something else may use (or a superuser may have created).

Built CONCURRENTLY, so a live desk keeps searching and filing mail while it migrates. A build that
was interrupted leaves an invalid index behind, which ``IF NOT EXISTS`` would keep: it is dropped
and built again.
"""

from django.db import migrations

# What Requester.objects.filter(email__icontains=…) compiles to on PostgreSQL (the planner needs the same expression).
INDEXES = {"requester_email_trgm": "upper((email)::text)", "requester_name_trgm": "upper((name)::text)"}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
            if cursor.fetchone() == (True,):
                schema_editor.execute(f"DROP INDEX CONCURRENTLY {name}")
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON helpdesk_requester "
                              f"USING gin ({expression} gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("desk", "0003_message_search_index_partial")]
    operations = [migrations.RunPython(create, drop)]
