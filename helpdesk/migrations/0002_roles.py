"""The two desk roles as groups, with the model permissions each needs in the admin."""

from django.db import migrations

MANAGER_PERMS = [
    ("helpdesk", "view_ticket"), ("helpdesk", "change_ticket"), ("helpdesk", "view_requester"),
    ("helpdesk", "view_message"), ("helpdesk", "view_attachment"), ("helpdesk", "view_auditevent"),
    ("helpdesk", "view_quarantine"), ("helpdesk", "change_quarantine"),
    ("workflows", "view_slapolicy"), ("workflows", "change_slapolicy"), ("workflows", "add_slapolicy"),
    ("workflows", "view_closureday"), ("workflows", "add_closureday"), ("workflows", "change_closureday"),
    ("workflows", "delete_closureday"),
    ("notifications", "view_responsetemplate"), ("notifications", "add_responsetemplate"),
    ("notifications", "change_responsetemplate"), ("notifications", "delete_responsetemplate"),
    ("notifications", "view_webhookendpoint"), ("notifications", "add_webhookendpoint"),
    ("notifications", "change_webhookendpoint"), ("notifications", "delete_webhookendpoint"),
    ("notifications", "view_webhookdelivery"),
]
ADMINISTRATOR_PERMS = [
    ("helpdesk", "view_ticket"), ("helpdesk", "view_requester"), ("helpdesk", "view_message"),
    ("helpdesk", "view_attachment"), ("helpdesk", "view_quarantine"), ("workflows", "view_slapolicy"),
    ("notifications", "view_responsetemplate"),
]


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in (("manager", MANAGER_PERMS), ("privacy_administrator", ADMINISTRATOR_PERMS)):
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in perms:
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                group.permissions.add(perm)


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0001_initial"),
        ("workflows", "0001_initial"),
        ("notifications", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
