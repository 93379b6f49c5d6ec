"""``manage.py find_personal_data EMAIL [--json]``: what the data sources hold about one address.

JSON (contract, issue 13): ``{"sources": [{"name", "tables": [{"name", "records", "erase"}], "error"}]}``.
Exit status 0 when every source answered, 2 when one or more failed (the output still has the
others), 1 for a broken data sources file.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from helpdesk.fulfilment.config import ConfigError, configured_sources
from helpdesk.fulfilment.connectors import lookup_all


class Command(BaseCommand):
    help = "List, per data source and table, the records that match an e-mail address."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"not an e-mail address: {email!r}") from exc
        try:
            sources = configured_sources()
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        if not sources:
            raise CommandError("no data sources configured: set DESK_DATA_SOURCES to a TOML file")
        result = lookup_all(sources, email)
        if options["json"]:
            public = {"sources": [{"name": s["name"], "tables": s["tables"], "error": s["error"]}
                                  for s in result["sources"]]}
            self.stdout.write(json.dumps(public, ensure_ascii=False, indent=2))
        else:
            for source in result["sources"]:
                if source["error"]:
                    self.stdout.write(f"{source['name']}: FAILED — {source['error']}")
                    continue
                for table in source["tables"]:
                    self.stdout.write(f"{source['name']}.{table['name']}: {len(table['records'])} record(s), "
                                      f"on erasure: {table['erase']}")
                    for record in table["records"]:
                        self.stdout.write("    " + json.dumps(record, ensure_ascii=False))
        if any(s["error"] for s in result["sources"]):
            sys.exit(2)
