#!/usr/bin/env python
"""Django's command-line utility for Privacy Desk."""

import gc
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Start-up builds a few hundred thousand objects that live as long as the process (Django,
    # Celery, the models). The cyclic garbage collector walked them again and again while they were
    # built, and once more at exit: together ~0.3 s of a 0.7 s one-mail `ingest_email`, which an MTA
    # starts once per mail. So nothing is collected while Django starts; then what start-up built
    # is frozen (collections, the last one at exit too, skip it) and collection runs as usual.
    gc.disable()
    from django.core.management import BaseCommand, ManagementUtility

    class Utility(ManagementUtility):
        def fetch_command(self, subcommand: str) -> BaseCommand:
            # Called once django.setup() has run, just before the command itself runs.
            gc.freeze()
            gc.enable()
            return super().fetch_command(subcommand)

    Utility(sys.argv).execute()


if __name__ == "__main__":
    main()
