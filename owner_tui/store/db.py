"""The store's connection: ``sqlite3`` straight through on the calls every start and every
message make, ``sqlite_utils`` for the rest (migrations, table helpers), loaded when first used.

Why not ``sqlite_utils.Database`` for everything (issue 18, measured with ``python -X importtime
-m owner_tui status``): importing it costs about 32 ms (it pulls in ``dateutil`` and its recipes),
a third of the budget ``owner-tui status`` has to stay within 4x a bare ``python -c pass``; and
its ``query()`` wraps every read in a ``SAVEPOINT``/``RELEASE`` pair (three statements for one)
to reject non-row statements, which the store never sends. The connection is in autocommit mode
(``isolation_level=None``) and every write goes through ``Store.write()``'s ``BEGIN IMMEDIATE``,
so the implicit-transaction bookkeeping of ``Database.execute`` has nothing to do here either.

``Db`` offers what the store uses: ``execute``, ``query`` (rows as dicts, duplicate column names
renamed as ``sqlite_utils`` does), ``atomic`` (a savepoint inside a transaction), ``quote_fts``,
``close`` and ``conn``. Anything else (``db["table"]``, ``enable_fts``...) is answered by a
``sqlite_utils.Database`` on the same connection, made on first use.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

#: How many migrations ``store/schema.py`` holds; the store records it in ``PRAGMA user_version``
#: once they are all applied, so an up-to-date database opens without importing the migration
#: machinery (``tests/test_store.py`` checks it equals the number of migrations).
SCHEMA_VERSION = 13

_QUOTE_FTS = re.compile(r'\s+|(".*?")')  # sqlite_utils' own pattern


class Db:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._full = None
        self._savepoints = 0

    def execute(self, sql: str, parameters: Sequence | dict[str, Any] | None = None) -> sqlite3.Cursor:
        return self.conn.execute(sql, parameters) if parameters is not None else self.conn.execute(sql)

    def query(self, sql: str, params: Sequence | dict[str, Any] | None = None) -> Iterator[dict]:
        """Rows as dicts; the statement runs now, rows are fetched as they are iterated."""
        cursor = self.execute(sql, params)
        if cursor.description is None:
            raise ValueError("query() can only be used with SQL that returns rows - use execute() for other "
                             "statements")
        keys = [d[0] for d in cursor.description]
        if len(set(keys)) != len(keys):
            from sqlite_utils.db import dedupe_keys

            keys = dedupe_keys(keys)
        return (dict(zip(keys, row)) for row in cursor)

    @contextmanager
    def atomic(self) -> Iterator["Db"]:
        """A transaction, or a savepoint inside one."""
        conn = self.conn
        if not conn.in_transaction:
            conn.execute("BEGIN")
            try:
                yield self
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            return
        self._savepoints += 1
        name = f"owner_tui_sp{self._savepoints}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield self
        except BaseException:
            if conn.in_transaction:  # an error may already have ended the whole transaction
                conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            conn.execute(f"RELEASE SAVEPOINT {name}")

    @staticmethod
    def quote_fts(query: str) -> str:
        """Each token of ``query`` in double quotes, so FTS5 reads no operator in it (as
        ``sqlite_utils.Database.quote_fts``)."""
        if query.count('"') % 2:
            query += '"'
        bits = [b for b in _QUOTE_FTS.split(query) if b and b != '""']
        return " ".join(f'"{bit}"' if not bit.startswith('"') else bit for bit in bits)

    @property
    def full(self):
        """A ``sqlite_utils.Database`` on this connection (for migrations and table helpers)."""
        if self._full is None:
            from sqlite_utils import Database

            # execute_plugins=False: installed sqlite-utils plugins must not run on the owner's mail.
            self._full = Database(self.conn, execute_plugins=False)
        return self._full

    def __getitem__(self, name: str):
        return self.full[name]

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.full, name)

    def close(self) -> None:
        self.conn.close()
