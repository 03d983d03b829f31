"""Tables and rows the PEP 249 tests share (the dbapi20 suite's own names)."""

from __future__ import annotations

EXCEPTION_NAMES = [
    "Warning",
    "Error",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
]

TABLE_PREFIX = "dbapi20test_"
BOOZE = TABLE_PREFIX + "booze"
BARFLY = TABLE_PREFIX + "barflys"
DDL1 = f"CREATE TABLE {BOOZE} (name VARCHAR(20))"
DDL2 = f"CREATE TABLE {BARFLY} (name VARCHAR(20), drink VARCHAR(30))"
SAMPLES = ["Carlton Cold", "Carlton Draft", "Mountain Goat", "Redback", "Victoria Bitter", "XXXX"]


def populate(cur):
    cur.execute(DDL1)
    for name in SAMPLES:
        cur.execute(f"INSERT INTO {BOOZE} VALUES ('{name}')")


def make_numbers(cur, n=5):
    cur.execute("CREATE TABLE nums (i INTEGER)")
    cur.executemany("INSERT INTO nums VALUES (?)", [(i,) for i in range(n)])
