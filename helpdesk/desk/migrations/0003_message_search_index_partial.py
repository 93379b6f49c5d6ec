"""The full-text index without the desk's own automatic mail (PostgreSQL only).

The search never looks at acknowledgements and notices (``helpdesk.selectors.search_filter``
excludes them), yet they were ~40 % of the index's entries, and a GIN entry is the dearest part of
storing a message: ~80 µs each, most of the cost of inserting a batch's acknowledgements. The
predicate is written as the search's ``exclude(kind__in=…)`` compiles, so the planner still uses
the index (``test_full_text_search_uses_the_index_that_leaves_out_the_desks_own_mail`` in
``tests/desk/test_views.py`` checks the plan).

Built CONCURRENTLY under a new name before the old one goes, so a live desk keeps searching
and filing mail while it migrates.
"""

from django.db import migrations

OLD, NEW = "message_search_simple_gin", "message_search_gin"
# What SearchVector("subject", "body_text", config="simple") compiles to (migration desk.0001).
VECTOR = "to_tsvector('simple'::regconfig, COALESCE(subject, '') || ' ' || COALESCE(body_text, ''))"
OWN_MAIL_LEFT_OUT = " WHERE kind NOT IN ('acknowledgement', 'notice')"


def replace_index(schema_editor, new: str, old: str, where: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {new} ON helpdesk_message USING gin ({VECTOR}){where}")
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {old}")


def forwards(apps, schema_editor):
    replace_index(schema_editor, NEW, OLD, OWN_MAIL_LEFT_OUT)


def backwards(apps, schema_editor):
    replace_index(schema_editor, OLD, NEW, "")


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("desk", "0002_ticket_due_index")]
    operations = [migrations.RunPython(forwards, backwards)]
