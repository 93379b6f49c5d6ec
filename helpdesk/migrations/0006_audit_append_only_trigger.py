"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the audit trail.

The only way to delete audit rows is the retention purge / erasure, which sets the
transaction-local ``privacy_desk.allow_audit_purge = 'on'`` first (``SET LOCAL``); UPDATE is
never allowed. SQLite has no such trigger (the ORM refuses instead; see docs/trust.md).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION privacy_desk_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND coalesce(current_setting('privacy_desk.allow_audit_purge', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'helpdesk_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS helpdesk_auditevent_append_only ON helpdesk_auditevent;
CREATE TRIGGER helpdesk_auditevent_append_only
    BEFORE UPDATE OR DELETE ON helpdesk_auditevent
    FOR EACH ROW EXECUTE FUNCTION privacy_desk_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS helpdesk_auditevent_append_only ON helpdesk_auditevent;
DROP FUNCTION IF EXISTS privacy_desk_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0005_default_retention_policies")]

    operations = [migrations.RunPython(forward, backward)]
