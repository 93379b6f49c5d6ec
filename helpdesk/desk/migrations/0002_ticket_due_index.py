"""Index for the "All" queue, ordered by due date over every ticket (open or closed).

The model's own indexes cover due dates of open tickets only (partial) or per state; sorting
100,000 tickets for one page of 25 would otherwise be a full sort.
"""

from django.db import migrations

INDEX = "desk_ticket_due_id"


def create(apps, schema_editor):
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON helpdesk_ticket (due_at, id)")


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("desk", "0001_message_search_index")]
    operations = [migrations.RunPython(create, drop)]
