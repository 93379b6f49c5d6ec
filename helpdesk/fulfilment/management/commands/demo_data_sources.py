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
label = {{ ko = "고객 관리 시스템(CRM)", en = "Customer records (CRM)" }}
time_zone = "UTC"   # SQLite's CURRENT_TIMESTAMP: UTC without an offset
[source.description]
ko = "영업·지원팀이 고객 연락처, 주문과 뉴스레터 구독을 관리하는 시스템입니다."
en = "Where sales and support keep customers' contact details, orders and newsletter subscriptions."

[[source.table]]
name = "customers"
match = "email"
export = ["name", "email", "phone", "company", "created_at"]
erase = "delete"
label = {{ ko = "고객 정보", en = "Customer details" }}
[source.table.columns]
name = {{ ko = "이름", en = "Name" }}
email = {{ ko = "이메일", en = "E-mail" }}
phone = {{ ko = "전화번호", en = "Phone" }}
company = {{ ko = "회사", en = "Company" }}
created_at = {{ ko = "등록 일시", en = "Registered" }}

[[source.table]]
name = "orders"
match = "customer_email"
erase = "keep"
label = {{ ko = "주문 내역", en = "Orders" }}
keep_law = {{ ko = "전자상거래법 제6조, 시행령 제6조", en = "E-Commerce Act Art. 6, Enforcement Decree Art. 6" }}
[source.table.keep_reason]
ko = "계약·청약철회, 대금 결제 및 재화 공급에 관한 기록은 5년간 보관해야 합니다."
en = "Records of contracts, withdrawals, payments and supply of goods must be kept for 5 years."
[source.table.columns]
id = {{ ko = "주문 번호", en = "Order no." }}
customer_email = {{ ko = "이메일", en = "E-mail" }}
ordered_on = {{ ko = "주문일", en = "Ordered on" }}
amount_krw = {{ ko = "금액(원)", en = "Amount (KRW)" }}
item = {{ ko = "품목", en = "Item" }}

[[source.table]]
name = "newsletter"
match = "email"
erase = "set"
set = {{ subscribed = 0 }}
label = {{ ko = "뉴스레터 구독", en = "Newsletter subscription" }}
[source.table.columns]
email = {{ ko = "이메일", en = "E-mail" }}
subscribed = {{ ko = "구독 중(1=예)", en = "Subscribed (1 = yes)" }}
since = {{ ko = "구독 시작일", en = "Since" }}
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
