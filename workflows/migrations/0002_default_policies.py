"""Default SLA policies: Korean PIPA periods, plus GDPR and CCPA presets."""

from django.db import migrations

PIPA = "PIPA Art. 35-38; Enforcement Decree Art. 41-44 (10 days)"
KR_TYPES = ["access", "correction", "deletion", "suspension", "consent_withdrawal", "membership_withdrawal",
            "complaint", "inquiry", "other"]
RIGHTS = ["access", "correction", "deletion", "suspension", "consent_withdrawal", "membership_withdrawal"]


def seed(apps, schema_editor):
    SlaPolicy = apps.get_model("workflows", "SlaPolicy")
    rows = [
        SlaPolicy(request_type=t, jurisdiction="kr", period=10, unit="calendar_days", extension_period=10,
                  extension_unit="calendar_days", max_extensions=1, reminder_offsets=[3, 1, 0], legal_basis=PIPA)
        for t in KR_TYPES
    ]
    rows += [
        SlaPolicy(request_type=t, jurisdiction="gdpr", period=1, unit="months", extension_period=2,
                  extension_unit="months", max_extensions=1, reminder_offsets=[7, 3, 1, 0],
                  legal_basis="GDPR Art. 12(3): one month, extendable by two further months")
        for t in RIGHTS + ["complaint"]
    ]
    rows += [
        SlaPolicy(request_type=t, jurisdiction="ccpa", period=45, unit="calendar_days", extension_period=45,
                  extension_unit="calendar_days", max_extensions=1, reminder_offsets=[7, 3, 1, 0],
                  legal_basis="CCPA Cal. Civ. Code 1798.130(a)(2): 45 days, extendable once by 45 days")
        for t in RIGHTS
    ]
    SlaPolicy.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
