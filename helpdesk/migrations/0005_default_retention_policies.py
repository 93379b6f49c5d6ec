"""Default retention periods, from the privacy policy section 9 (docs/trust.md explains each)."""

from django.db import migrations

# category, months, statutory, basis
DEFAULTS = [
    ("complaint_dispute", 36, True,
     "Privacy policy §9: records on consumer complaints or dispute resolution, 3 years "
     "(Act on Consumer Protection in Electronic Commerce, Art. 6)"),
    ("contract_withdrawal", 60, True,
     "Privacy policy §9: records on contract or subscription withdrawal, 5 years"),
    ("payment_supply", 60, True, "Privacy policy §9: records on payment and supply of goods, 5 years"),
    ("display_advertisement", 6, True, "Privacy policy §9: records on display/advertisement, 6 months"),
    ("general_inquiry", 36, False,
     "Answered inquiries: kept like consumer complaint records (3 years) for follow-up questions; "
     "not a statutory record, so an erasure request removes them"),
    ("website_visit", 3, True, "Privacy policy §9: records of website visits, 3 months"),
    ("unfiled_mail", 3, False,
     "Mail the desk could not file (quarantine), 3 months after it was resolved"),
]


def add_defaults(apps, schema_editor):
    RetentionPolicy = apps.get_model("helpdesk", "RetentionPolicy")
    for category, months, statutory, basis in DEFAULTS:
        RetentionPolicy.objects.get_or_create(
            category=category, defaults={"months": months, "statutory": statutory, "basis": basis}
        )


def remove_defaults(apps, schema_editor):
    apps.get_model("helpdesk", "RetentionPolicy").objects.filter(
        category__in=[row[0] for row in DEFAULTS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0004_retention_and_statistics")]

    operations = [migrations.RunPython(add_defaults, remove_defaults)]
