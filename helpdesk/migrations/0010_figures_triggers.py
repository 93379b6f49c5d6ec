"""Keep the figures' summary exact on every write path: triggers on the ticket table mark the UTC
date of receipt of every written ticket that is (or was) closed — open tickets are not in the
summary — in ``helpdesk_figuredirtyday``; then every such day that already exists is marked, so the
summary builds itself on first read (or run ``manage.py rebuild_figures``).

PostgreSQL: statement-level triggers with transition tables (one INSERT per statement, bulk or not)
and two partial indexes for the exact percentile selection. SQLite: row-level triggers.
The open states are written into the triggers: a change to ``OPEN_STATES`` needs a new migration.
"""

from django.db import migrations

from helpdesk.metrics.buckets import summary_indexes

OPEN = "('received', 'verified', 'awaiting_requester', 'processed')"

PG_FORWARD = f"""
CREATE OR REPLACE FUNCTION privacy_desk_figures_mark() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO helpdesk_figuredirtyday (day)
        SELECT DISTINCT (received_at AT TIME ZONE 'UTC')::date FROM new_rows WHERE state NOT IN {OPEN};
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO helpdesk_figuredirtyday (day)
        SELECT (received_at AT TIME ZONE 'UTC')::date FROM new_rows WHERE state NOT IN {OPEN}
        UNION SELECT (received_at AT TIME ZONE 'UTC')::date FROM old_rows WHERE state NOT IN {OPEN};
    ELSE
        INSERT INTO helpdesk_figuredirtyday (day)
        SELECT DISTINCT (received_at AT TIME ZONE 'UTC')::date FROM old_rows WHERE state NOT IN {OPEN};
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER helpdesk_ticket_figures_insert AFTER INSERT ON helpdesk_ticket
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION privacy_desk_figures_mark();
CREATE TRIGGER helpdesk_ticket_figures_update AFTER UPDATE ON helpdesk_ticket
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION privacy_desk_figures_mark();
CREATE TRIGGER helpdesk_ticket_figures_delete AFTER DELETE ON helpdesk_ticket
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION privacy_desk_figures_mark();
INSERT INTO helpdesk_figuredirtyday (day)
    SELECT DISTINCT (received_at AT TIME ZONE 'UTC')::date FROM helpdesk_ticket WHERE state NOT IN {OPEN};
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS helpdesk_ticket_figures_insert ON helpdesk_ticket;
DROP TRIGGER IF EXISTS helpdesk_ticket_figures_update ON helpdesk_ticket;
DROP TRIGGER IF EXISTS helpdesk_ticket_figures_delete ON helpdesk_ticket;
DROP FUNCTION IF EXISTS privacy_desk_figures_mark();
"""

SQLITE_FORWARD = [
    f"""CREATE TRIGGER helpdesk_ticket_figures_insert AFTER INSERT ON helpdesk_ticket
        WHEN NEW.state NOT IN {OPEN}
        BEGIN INSERT INTO helpdesk_figuredirtyday (day) VALUES (date(NEW.received_at)); END""",
    f"""CREATE TRIGGER helpdesk_ticket_figures_update AFTER UPDATE ON helpdesk_ticket
        WHEN NEW.state NOT IN {OPEN} OR OLD.state NOT IN {OPEN}
        BEGIN
            INSERT INTO helpdesk_figuredirtyday (day) VALUES (date(OLD.received_at));
            INSERT INTO helpdesk_figuredirtyday (day)
                SELECT date(NEW.received_at) WHERE date(NEW.received_at) IS NOT date(OLD.received_at);
        END""",
    f"""CREATE TRIGGER helpdesk_ticket_figures_delete AFTER DELETE ON helpdesk_ticket
        WHEN OLD.state NOT IN {OPEN}
        BEGIN INSERT INTO helpdesk_figuredirtyday (day) VALUES (date(OLD.received_at)); END""",
    f"""INSERT INTO helpdesk_figuredirtyday (day)
        SELECT DISTINCT date(received_at) FROM helpdesk_ticket WHERE state NOT IN {OPEN}""",
]

SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS helpdesk_ticket_figures_{op}" for op in ("insert", "update", "delete")]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
        ticket = apps.get_model("helpdesk", "Ticket")
        for index in summary_indexes():
            schema_editor.add_index(ticket, index)
    else:
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        ticket = apps.get_model("helpdesk", "Ticket")
        for index in summary_indexes():
            schema_editor.remove_index(ticket, index)
        schema_editor.execute(PG_BACKWARD, params=None)
    else:
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0009_figures_summary")]

    operations = [migrations.RunPython(forward, backward)]
