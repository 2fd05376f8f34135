"""Bulk reads of a SQLite file with ADBC (Arrow at C speed), in a helper process.

ADBC's SQLite driver carries its own copy of the SQLite library. Two copies in one process do
not see each other's POSIX locks, and closing a file in one releases the locks the other holds,
which can corrupt a database that other processes write to (sqlite.org/howtocorrupt.html,
2.2.1). So the copy runs in a child process that holds no other connection: it runs the
queries (read-only, in parallel) and hands back Arrow IPC files. This file is run as a script
(``python _export.py <db> <dir> <threads>``, queries as JSON on stdin) so the child imports
only pyarrow and the driver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa


def export(path: str, queries: list[str], *, parallel: int = 2) -> list[pa.Table] | None:
    """The results of ``queries`` on the SQLite file ``path``, or None if the helper cannot run
    (no ADBC driver, or a query it cannot type): the caller reads them itself then."""
    with tempfile.TemporaryDirectory(prefix="campaign-sdk-export-") as folder:
        done = subprocess.run(
            [sys.executable, os.path.abspath(__file__), path, folder, str(parallel)],
            input=json.dumps(queries), capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            return None
        tables = []
        for i in range(len(queries)):
            with pa.OSFile(os.path.join(folder, f"{i}.arrow"), "rb") as file:
                tables.append(pa.ipc.open_file(file).read_all())
        return tables


def _main(path: str, folder: str, parallel: int) -> None:
    import adbc_driver_sqlite.dbapi as driver

    queries = json.loads(sys.stdin.read())
    local = threading.local()
    opened = []

    def run(job: tuple[int, str]) -> None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = driver.connect(f"file:{path}?mode=ro", autocommit=True)
            opened.append(connection)
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout = 30000")
                cursor.fetchall()
        with connection.cursor() as cursor:
            cursor.execute(job[1])
            table = cursor.fetch_arrow_table()
        with pa.OSFile(os.path.join(folder, f"{job[0]}.arrow"), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)

    with ThreadPoolExecutor(max(1, parallel)) as pool:
        list(pool.map(run, enumerate(queries)))
    for connection in opened:
        connection.close()


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
