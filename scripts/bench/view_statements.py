#!/usr/bin/env python3
"""The SQL statements one audited client page costs (issue 15): starts the given binary on a
new database (SQLite, or PostgreSQL with --backend postgres) with the demo network, logs in as the midwife, opens a demo client's page
twice and lists the statements (and rows returned) of the second view, from sqlx's own query
log (RUST_LOG sqlx::query=debug). The first view is not counted: it fills the policy cache.

    scripts/bench/view_statements.py [--bin ~/.cache/ooievaar/target/quick/ooievaar]
"""

import argparse
import http.client
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from live_server import (Server, drop_database, fresh_database, log_in_and_grant,  # noqa: E402
                         server_env)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/ooievaar/target"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.path.join(target, "quick", "ooievaar"))
    parser.add_argument("--port", type=int, default=3223)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--admin-url", default=os.environ.get("OOIEVAAR_TEST_PG", "postgres://postgres@127.0.0.1:5432"))
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="ooievaar-statements.")
    database_url, database = fresh_database(args.backend, args.admin_url, workdir)
    env = server_env(database_url, args.port)
    env["RUST_LOG"] = "warn,sqlx::query=debug"
    server = Server(args.bin, env, workdir, args.port)
    server.cli("demo", "seed")
    server.start()
    try:
        cookie, path = log_in_and_grant(server)
        log = os.path.join(workdir, "serve.log")

        def statements():
            return [ANSI.sub("", line) for line in open(log, errors="replace") if "sqlx::query" in line]

        def view():
            conn = http.client.HTTPConnection("127.0.0.1", args.port)
            conn.request("GET", path, headers={"Cookie": cookie, "Accept": "text/html"})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, f"client page: {response.status}"
            return body

        view()
        time.sleep(0.3)
        before = len(statements())
        body = view()
        time.sleep(0.3)
        seen = statements()[before:]
        rows = 0
        for line in seen:
            summary = re.search(r'summary="([^"]*)"', line)
            returned = re.search(r"rows_returned=(\d+)", line)
            rows += int(returned.group(1)) if returned else 0
            print(f"  {returned.group(1) if returned else '?':>4} rows  {summary.group(1) if summary else line[-100:]}")
        print(f"one client page ({len(body)} bytes of HTML): {len(seen)} statements, {rows} rows returned")
    finally:
        server.kill()
        if database:
            drop_database(args.admin_url, database)


if __name__ == "__main__":
    main()
