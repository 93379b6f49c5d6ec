"""The read-only auditor role (workflows.roles.AUDITOR_GROUP): sees tickets, the audit trail and
the figures; its admin permissions are view-only (it has no admin access without is_staff anyway)."""

from django.db import migrations

AUDITOR_PERMS = [
    ("helpdesk", "view_ticket"), ("helpdesk", "view_requester"), ("helpdesk", "view_message"),
    ("helpdesk", "view_attachment"), ("helpdesk", "view_auditevent"),
]


def create_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="auditor")
    for app_label, codename in AUDITOR_PERMS:
        perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm is not None:
            group.permissions.add(perm)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="auditor").delete()


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0013_raw_mail_in_database"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_group, remove_group)]
