"""The child of ``split_read``: runs one SQL read and writes its one-column rows to a file.

Started as ``python -I -S this_file FD`` with the standard library only (nothing of
owner-tui is imported: the start-up is the interpreter's). Protocol:

- stdin, first line: JSON ``{"uri": ...}``. It opens the store read-only, starts a read
  transaction and prints ``ready`` (the parent holds the write lock until then, so both read
  the same snapshot).
- stdin, second line: JSON ``{"sql": ..., "args": [...]}``, sent once the parent has let the
  lock go. It runs the query, writes each row's text followed by a NUL to the file descriptor
  FD, and prints ``done N``.
- Any failure: a message on stderr and exit status 1; the parent then reads the part itself.
"""

import json
import os
import sqlite3
import sys


def main() -> int:
    fd = int(sys.argv[1])
    conn = sqlite3.connect(json.loads(sys.stdin.readline())["uri"], uri=True, timeout=30, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # the snapshot starts here
    print("ready", flush=True)
    spec = json.loads(sys.stdin.readline())
    n = 0
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        cur = conn.execute(spec["sql"], spec["args"])
        while rows := cur.fetchmany(1000):
            text = "\0".join(r[0] for r in rows)  # (a NULL row: TypeError, and the parent reads it)
            if text.count("\0") != len(rows) - 1:
                raise ValueError("a row holds a NUL character")
            out.write(text + "\0")
            n += len(rows)
    conn.execute("COMMIT")
    conn.close()
    print(f"done {n}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        status = main()
    except Exception as exc:  # the parent reads the part itself; say why
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        status = 1
    sys.exit(status)
