"""``manage.py demo_data_sources``: a small demo CRM in SQLite and a data sources file for it.

``make run`` calls it, so a fresh development desk has a source to find, export and erase. It
never overwrites: delete ``var/demo_crm.sqlite3`` / ``var/data_sources.toml`` to start again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from helpdesk.fulfilment.register import DEFAULT_REGISTER, FILENAME

PEOPLE = [
    ("홍길동", "requester@example.com", "010-1234-5678", "길동상사"),
    ("김민지", "minji.kim@example.co.kr", "010-2222-3333", "미래전자"),
    ("이서준", "seojun.lee@example.kr", "010-4444-5555", ""),
    ("Jane Doe", "Jane.Doe@example.com", "+1 555 0100", "Acme Corp"),
    ("John Smith", "john.smith@example.org", "+44 20 7946 0000", "Smith & Co"),
]
ORDERS = [
    ("requester@example.com", "2025-03-14", 129000, "SmartFactory MES license"),
    ("requester@example.com", "2025-11-02", 45000, "Support renewal"),
    ("jane.doe@example.com", "2026-01-20", 990000, "Vision inspection kit"),
    ("minji.kim@example.co.kr", "2026-02-05", 300000, "Training seat"),
]
NEWSLETTER = [
    ("requester@example.com", 1, "2024-06-01"),
    ("JANE.DOE@example.com", 1, "2025-01-10"),
    ("john.smith@example.org", 0, "2023-09-09"),
]

TOML = """\
# Demo data sources for development (manage.py demo_data_sources). Format: docs/fulfilment.md
[[source]]
name = "demo-crm"
url = "sqlite:///{db}"
connect_timeout = 5
statement_timeout = 10

[[source.table]]
name = "customers"
match = "email"
export = ["name", "email", "phone", "company", "created_at"]
erase = "delete"

[[source.table]]
name = "orders"
match = "customer_email"
erase = "keep"
keep_reason = "Commercial Act Art. 33 / 전자상거래법: transaction records are kept for 5 years"

[[source.table]]
name = "newsletter"
match = "email"
erase = "set"
set = {{ subscribed = 0 }}
"""


def create_demo_crm(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
                                    phone TEXT, company TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP);
            CREATE INDEX customers_email ON customers (lower(email));
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_email TEXT NOT NULL, ordered_on TEXT,
                                 amount_krw INTEGER, item TEXT);
            CREATE INDEX orders_email ON orders (lower(customer_email));
            CREATE TABLE newsletter (email TEXT PRIMARY KEY, subscribed INTEGER NOT NULL, since TEXT);
        """)
        db.executemany("INSERT INTO customers (name, email, phone, company) VALUES (?, ?, ?, ?)", PEOPLE)
        db.executemany("INSERT INTO orders (customer_email, ordered_on, amount_krw, item) VALUES (?, ?, ?, ?)",
                       ORDERS)
        db.executemany("INSERT INTO newsletter VALUES (?, ?, ?)", NEWSLETTER)


class Command(BaseCommand):
    help = "Create the demo CRM (SQLite) and a data sources file pointing at it, if they do not exist."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", default=str(settings.VAR_DIR), help="where to put them (default var/)")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["dir"]).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        db, toml = folder / "demo_crm.sqlite3", folder / "data_sources.toml"
        if not db.exists():
            create_demo_crm(db)
            self.stdout.write(f"Demo CRM: {db}")
        if not toml.exists():
            toml.write_text(TOML.format(db=db), encoding="utf-8")
            self.stdout.write(f"Data sources: {toml} (DESK_DATA_SOURCES)")
        register = folder / FILENAME
        if not register.exists():
            register.write_text(demo_register(), encoding="utf-8")
            self.stdout.write(f"Processing register: {register} (beside the data sources)")


def demo_register() -> str:
    """The shipped register (the privacy policy's entries), tied to the demo CRM's tables."""
    text = DEFAULT_REGISTER.read_text(encoding="utf-8")
    text = text.replace('name = "customer-support"\n',
                        'name = "customer-support"\ntables = ["demo-crm.customers", "demo-crm.orders"]\n')
    return text.replace('name = "marketing"\n', 'name = "marketing"\ntables = ["demo-crm.newsletter"]\n')
