#!/usr/bin/env python3
"""Instructions one audited client page costs the server (issue 15), counted by valgrind's
callgrind: a figure that does not move with the machine's load, where wall-clock benchmarks
on these shared 2-core machines differ by about 20% from run to run and machine to machine.

Starts the given binary under `valgrind --tool=callgrind` on a new database with the demo
network, logs in as the midwife with a grant, loads the client page 20 times to warm the
caches, zeroes the counters, loads it --views times one after the other and dumps the counts.
Prints the instructions per view in all the server's threads, and the share of the main
parts (SQLite, the page's rendering, the view's rows and page model, the access log's writer).

    scripts/bench/view_instructions.py --bin <release binary> [--views 100] [--backend postgres]
    callgrind_annotate --inclusive=yes <the printed profile>   (to see where they go)

It counts user-space instructions only: not the kernel's thread switches and system calls,
and not time spent waiting (fsync, PostgreSQL's own process). Compare builds with it; take
throughput and latency from `wrk_view.py` and `view_load`.
"""

import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from live_server import (Server, bench_arguments, drop_database, fresh_database, log_in_and_grant,  # noqa: E402
                         server_env)

# Inclusive counts of these functions (summed per line), as shares of the whole
# (callgrind_annotate's names).
PARTS = [
    ("SQLite (all statements)", [r"\?\?\?:sqlite3_step "]),
    ("page rendering (Leptos, incl. the view below)", [r"\?\?\?:leptos_axum::handle_response_inner::\{\{closure\}\} "]),
    ("  the view: rows and page model", [r"\?\?\?:backend::viewing::view_client::\{\{closure\}\} "]),
    ("access log writer (Rust side)", [r"\?\?\?:backend::store::group_commit::Writer::write_batches::\{\{closure\}\} "]),
    ("allocator (mi_malloc + mi_free)", [r"\?\?\?:mi_malloc_aligned ", r"\?\?\?:mi_free "]),
    ("memcpy", [r"__memcpy_avx_unaligned_erms "]),
]


def main():
    p = bench_arguments(__doc__.split("\n")[0])
    p.add_argument("--views", type=int, default=100)
    p.add_argument("--port", type=int, default=3195)
    p.add_argument("--out", default=None, help="where to keep the profile (default: a temp dir)")
    args = p.parse_args()
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        if not shutil.which(tool):
            subprocess.run(["apt-get", "install", "-y", "-qq", "valgrind"], check=True)
            break

    workdir = tempfile.mkdtemp(prefix="ooievaar-callgrind.")
    out = os.path.abspath(args.out or os.path.join(workdir, "callgrind.out"))
    database_url, database = fresh_database(args.backend, args.admin_url, workdir)
    env = server_env(database_url, args.port)
    server = Server(os.path.abspath(args.bin), env, workdir, args.port)
    try:
        server.cli("demo", "seed")
        server.proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", server.binary, "serve"],
            env=env, cwd=workdir, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(workdir, "valgrind.log"), "w"))
        deadline = time.monotonic() + 300
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("the server did not answer /healthz under valgrind within 300 s")
                time.sleep(0.5)
        cookie, path = log_in_and_grant(server)
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)

        def views(n):
            for _ in range(n):
                conn.request("GET", path, headers={"Cookie": cookie, "Accept": "text/html"})
                response = conn.getresponse()
                body = response.read()
                assert response.status == 200, f"client page: {response.status}"
            return len(body)

        views(20)
        subprocess.run(["callgrind_control", "-z", str(server.proc.pid)], check=True, capture_output=True)
        size = views(args.views)
        # The last views' read events are committed by the writer before their answers.
        subprocess.run(["callgrind_control", "-d", str(server.proc.pid)], check=True, capture_output=True)
        server.kill()
        dumps = sorted(f for f in os.listdir(os.path.dirname(out))
                       if f.startswith(os.path.basename(out) + "."))
        profile = os.path.join(os.path.dirname(out), dumps[-1])
        annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", profile],
                                   check=True, capture_output=True, text=True).stdout
        total = int(re.search(r"([\d,]+) \(\s*[\d.]+%\)\s+PROGRAM TOTALS", annotated).group(1).replace(",", ""))

        def inclusive(pattern):
            m = re.search(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+.*" + pattern, annotated, re.M)
            return int(m.group(1).replace(",", "")) if m else 0

        print(f"client page ({args.backend}, {size} bytes of HTML), {args.views} views one after the other:")
        print(f"  {total / args.views / 1e6:.2f} million instructions per view (all threads)")
        for label, patterns in PARTS:
            n = sum(inclusive(pattern) for pattern in patterns)
            print(f"  {label:50} {n / args.views / 1e6:6.2f} M/view  {100 * n / total:5.1f}%")
        print(f"profile: {profile}")
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()
        if database:
            drop_database(args.admin_url, database)


if __name__ == "__main__":
    main()
