#!/usr/bin/env python3
"""DESIGN rule 4 under crashes (issue 15): no view leaves the server without a durable log line.

Starts the real `ooievaar serve` on a fresh database (SQLite with synchronous=FULL, or a new
PostgreSQL database), logs a midwife in, gives her a grant, and drives concurrent views of one
client page. At random moments it kills the server with SIGKILL and starts it again. It keeps
the `x-request-id` of every view answered 200 (DESIGN 9: made by the server, the same as the
event's `request_id`), and after every restart checks that each of them has its `read` event in
the database and that `ooievaar audit verify` passes. Exits non-zero on the first lost line.

    scripts/crash_test.py --bin target/debug/ooievaar --backend sqlite --kills 100
    scripts/crash_test.py --bin ... --backend postgres --admin-url postgres://postgres@127.0.0.1:5432

`make test` runs it on both backends with the debug binary; with the release binary it is the
same test, faster.
"""

import argparse
import http.client
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from live_server import (Server, drop_database, fresh_database, log_in_and_grant,
                         read_request_ids, server_env)


def log(msg):
    print(f"crash test: {msg}", flush=True)


class Load:
    """Concurrent views; keeps the request id of every one answered 200."""

    def __init__(self, port, cookie, path, workers):
        self.port, self.cookie, self.path = port, cookie, path
        self.answered, self.lock, self.stop = [], threading.Lock(), threading.Event()
        self.error = None
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(workers)]

    def run(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", self.path, headers={"cookie": self.cookie, "accept": "text/html"})
                r = conn.getresponse()
                r.read()
                if r.status == 200:
                    request_id = r.getheader("x-request-id")
                    assert request_id, "a view without x-request-id"
                    with self.lock:
                        self.answered.append(request_id)
                elif r.status != 503:
                    self.error = f"a view answered {r.status}"
                    self.stop.set()
            except (OSError, http.client.HTTPException):
                # The server was killed mid-request: that view was not answered.
                conn = None
                time.sleep(0.01)

    def so_far(self):
        with self.lock:
            return list(self.answered)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--admin-url", default=os.environ.get("OOIEVAAR_TEST_PG", "postgres://postgres@127.0.0.1:5432"))
    p.add_argument("--kills", type=int, default=100)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--port", type=int, default=3190)
    p.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    args = p.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    random.seed(seed)

    workdir = tempfile.mkdtemp(prefix="ooievaar-crash.")
    passed = False
    database_url, database = fresh_database(args.backend, args.admin_url, workdir)
    env = server_env(database_url, args.port)
    server = Server(os.path.abspath(args.bin), env, workdir, args.port)
    try:
        server.cli("demo", "seed")
        restarts = [server.start()]
        cookie, path = log_in_and_grant(server)
        load = Load(args.port, cookie, path, args.workers)
        for t in load.threads:
            t.start()
        started = time.monotonic()
        for kill in range(1, args.kills + 1):
            time.sleep(random.uniform(0.05, 0.6))
            if load.error:
                sys.exit(f"crash test ({args.backend}): {load.error} (kept {workdir})")
            server.kill()
            answered = load.so_far()
            restarts.append(server.start())
            missing = set(answered) - read_request_ids(database_url)
            if missing:
                sys.exit(f"crash test ({args.backend}): after kill {kill}, {len(missing)} of "
                         f"{len(answered)} answered views have no read event, e.g. {sorted(missing)[:3]}"
                         f" (seed {seed}, kept {workdir})")
            verify = subprocess.run([server.binary, "audit", "verify"], env=env, cwd=workdir,
                                    capture_output=True, text=True)
            if verify.returncode != 0:
                sys.exit(f"crash test ({args.backend}): audit verify failed after kill {kill}:\n"
                         f"{verify.stdout}{verify.stderr}(seed {seed}, kept {workdir})")
            if kill % 10 == 0:
                log(f"{args.backend}: {kill} kills, {len(answered)} views answered, none lost")
        load.stop.set()
        for t in load.threads:
            t.join(timeout=15)
        answered = load.so_far()
        server.kill()
        restarts.append(server.start())
        missing = set(answered) - read_request_ids(database_url)
        assert not missing, f"{len(missing)} answered views have no read event"
        ms = sorted(r * 1000 for r in restarts[1:])
        print(f"crash test ({args.backend}): {args.kills} kills in {time.monotonic() - started:.0f} s, "
              f"{len(answered)} views answered 200, {len(missing)} without a durable read event; "
              f"restart to /healthz p50 {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms; "
              f"audit verify intact after every restart (seed {seed})", flush=True)
        server.kill()
        passed = True
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()
        if database and passed:
            drop_database(args.admin_url, database)
        if passed:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
