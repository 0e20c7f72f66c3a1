#!/usr/bin/env python3
"""The wrk load figure of issue 15: one logged-in midwife's client page under wrk (2 threads,
50 connections, 15 s) against the release binary, with a light /healthz probe beside it.

Prints views/s, p50 and p99 of the page, the probe's p99 and the ratio, and compares the
`read` events the access log gained with the views wrk counted as answered (each answered
view must have its own durable event; a few more events than answers are requests wrk cut
off at the end, after the server had logged them).

    scripts/bench/wrk_view.py --backend sqlite
    scripts/bench/wrk_view.py --backend postgres --admin-url postgres://postgres@127.0.0.1:5432

It builds nothing: run `scripts/build.sh --release` first (the default --bin is that
build's binary). wrk comes from Debian (`apt-get install wrk`; installed when missing).
"""

import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from live_server import (Server, bench_arguments, drop_database, fresh_database, log_in_and_grant,  # noqa: E402
                         read_request_ids, server_env)


def ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def probe(port, stop, samples):
    """/healthz every 10 ms on its own connection, timing each answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        t = time.perf_counter()
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        samples.append((time.perf_counter() - t) * 1000)
        time.sleep(0.01)


def main():
    p = bench_arguments(__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--duration", type=int, default=15)
    p.add_argument("--port", type=int, default=3191)
    p.add_argument("--encoding", default="",
                   help="an Accept-Encoding to send, as a browser does (e.g. 'br, gzip'); "
                        "none by default, as the issue's figure was taken")
    args = p.parse_args()
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)

    workdir = tempfile.mkdtemp(prefix="ooievaar-wrk.")
    database_url, database = fresh_database(args.backend, args.admin_url, workdir)
    server = Server(os.path.abspath(args.bin), server_env(database_url, args.port), workdir, args.port)
    try:
        server.cli("demo", "seed")
        server.start()
        cookie, path = log_in_and_grant(server)
        before = len(read_request_ids(database_url))
        stop, samples = threading.Event(), []
        prober = threading.Thread(target=probe, args=(args.port, stop, samples), daemon=True)
        prober.start()
        wrk = subprocess.run(
            ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
             "-H", f"Cookie: {cookie}", "-H", "Accept: text/html",
             *(["-H", f"Accept-Encoding: {args.encoding}"] if args.encoding else []),
             f"http://127.0.0.1:{args.port}{path}"],
            check=True, capture_output=True, text=True).stdout
        stop.set()
        prober.join()
        time.sleep(0.5)  # the last requests wrk cut off finish in the server
        events = len(read_request_ids(database_url)) - before
        answered = int(re.search(r"(\d+) requests in", wrk).group(1))
        per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
        p50 = ms(re.search(r"50%\s+(\S+)", wrk).group(1))
        p99 = ms(re.search(r"99%\s+(\S+)", wrk).group(1))
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
        samples.sort()
        health_p99 = samples[int((len(samples) - 1) * 0.99)]
        print(wrk)
        print(f"wrk ({args.backend}, {args.threads} threads, {args.connections} connections, {args.duration} s, "
              f"Accept-Encoding {args.encoding or 'none'}): "
              f"{per_second:.0f} views/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
              f"{errors.group(1) if errors else 0} non-2xx; /healthz beside it: n={len(samples)} "
              f"p50 {statistics.median(samples):.1f} ms p99 {health_p99:.1f} ms "
              f"(view p99 / healthz p99 = {p99 / health_p99:.1f}); "
              f"{answered} views answered, {events} read events written")
        if events < answered:
            sys.exit(f"{answered - events} answered views have no read event")
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()
        if database:
            drop_database(args.admin_url, database)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
