"""GIN index for the desk's full-text search over messages (PostgreSQL only).

The expression must match what ``SearchVector("subject", "body_text", config="simple")``
compiles to, or the planner will not use it (see helpdesk.selectors.search_filter). Kept out
of helpdesk.models so SQLite installs are unaffected.
"""

from django.db import migrations

INDEX = "message_search_simple_gin"
CREATE = (
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON helpdesk_message USING gin ("
    "to_tsvector('simple'::regconfig, COALESCE(subject, '') || ' ' || COALESCE(body_text, '')))"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
