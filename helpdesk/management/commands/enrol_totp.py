"""``manage.py enrol_totp USERNAME``: give a staff member a TOTP device; prints the otpauth:// link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.models import User
from helpdesk.trust import audit


class Command(BaseCommand):
    help = "Enrol a TOTP device for a staff member (two-factor sign-in) and print its otpauth:// link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="authenticator app")
        parser.add_argument("--replace", action="store_true", help="Remove the user's existing TOTP devices first.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist as exc:
            raise CommandError(f"no user {options['username']!r}") from exc
        if options["replace"]:
            TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name=options["name"], confirmed=True)
        audit.record_event(ticket=None, actor=None, actor_name="manage.py enrol_totp", action="staff.otp_enrolled",
                           data={"user": user.username})
        self.stdout.write(device.config_url)
        self.stderr.write("Scan this link as a QR code (or type the secret) in an authenticator app. "
                          "It is shown once; keep it secret.")
