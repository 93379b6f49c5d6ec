"""Fulfilment lookup over a 1,000,000-row indexed table (PostgreSQL), as `find_personal_data` runs it.

    .venv/bin/python bench/fulfilment_lookup.py [ROWS]

A throw-away database (bench/pgdb.py) gets a `customers` table with ROWS people (default 1M) and an
index on lower(email) — what docs/fulfilment.md asks of a source — plus 3 orders per 100 people.
Prints the time of a whole lookup of one person (connect, reflect the schema, one query per
table, close) over several runs, and the query plan. Target: < 1 s.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pgdb import SERVER, drop_database, recreate_database

NAME = "bench_fulfilment"


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    import psycopg

    from helpdesk.fulfilment.config import parse_sources
    from helpdesk.fulfilment.connectors import lookup_source

    recreate_database(NAME)
    try:
        started = time.perf_counter()
        with psycopg.connect(f"{SERVER}/{NAME}", autocommit=True) as db:
            db.execute("""
                CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, email text NOT NULL,
                                        phone text, company text, created_at timestamptz DEFAULT now());
                CREATE TABLE orders (id bigserial PRIMARY KEY, customer_email text NOT NULL, amount numeric(12, 2));
            """)
            db.execute("""INSERT INTO customers (name, email, phone, company)
                          SELECT 'Person ' || i, 'Person' || i || '@Example.com', '010-' || lpad(i::text, 8, '0'),
                                 'Company ' || (i %% 1000) FROM generate_series(1, %s) AS i""", [rows])
            db.execute("""INSERT INTO orders (customer_email, amount)
                          SELECT 'person' || (i * 33) || '@example.com', i FROM generate_series(1, %s) AS i""",
                       [rows * 3 // 100])
            db.execute("CREATE INDEX customers_email ON customers (lower(email))")
            db.execute("CREATE INDEX orders_email ON orders (lower(customer_email))")
            db.execute("ANALYZE")
            plan = db.execute("EXPLAIN SELECT * FROM customers WHERE lower(email) = 'person777777@example.com'"
                              ).fetchall()
        print(f"set-up: {rows:,} customers, {rows * 3 // 100:,} orders in {time.perf_counter() - started:.1f} s")
        (source,) = parse_sources(f"""
[[source]]
name = "crm"
url = "{SERVER.replace('postgres://', 'postgresql://')}/{NAME}"
[[source.table]]
name = "customers"
match = "email"
export = ["name", "email", "phone", "company"]
[[source.table]]
name = "orders"
match = "customer_email"
erase = "keep"
keep_reason = "Commercial Act"
""")
        timings = []
        target = rows * 7 // 9 // 33 * 33 or 33  # someone with orders
        for _ in range(7):
            started = time.perf_counter()
            result = lookup_source(source, f"PERSON{target}@example.com")
            timings.append((time.perf_counter() - started) * 1000)
            assert result["error"] is None, result["error"]
        found = {t["name"]: len(t["records"]) for t in result["tables"]}
        print(f"lookup of one person (connect + reflect + 2 queries): median {statistics.median(timings):.1f} ms, "
              f"first {timings[0]:.1f} ms, max {max(timings):.1f} ms over {len(timings)} runs; found {found}")
        print("plan:", " / ".join(row[0].strip() for row in plan))
    finally:
        drop_database(NAME)


if __name__ == "__main__":
    main()
