"""A real `ooievaar serve` on a fresh database, for the crash test and the load scripts:
start it, kill it, log a midwife in with a grant, and read the access log's request ids."""

import argparse
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse

# The demo network's first client (README, "Using the viewer").
DEMO_BSN, DEMO_BIRTH = "999990032", "1991-04-06"
USER, PASSWORD = "verloskundige", "ooievaar-demo-2026"


def bench_arguments(description):
    """The arguments every load script shares: the release binary, the backend and the
    PostgreSQL admin URL its throw-away databases are made with."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/ooievaar/target"))
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bin", default=os.path.join(target, "release", "ooievaar"))
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--admin-url", default=os.environ.get("OOIEVAAR_TEST_PG", "postgres://postgres@127.0.0.1:5432"))
    return p


def fresh_database(backend, admin_url, workdir):
    """(DATABASE_URL, PostgreSQL database name or None) of a new, empty database."""
    if backend == "sqlite":
        return f"sqlite://{workdir}/ooievaar.db", None
    database = f"ooievaar_bench_{os.getpid()}"
    subprocess.run(["psql", "-q", "-d", admin_url, "-c", f"CREATE DATABASE {database}"], check=True)
    return f"{admin_url.rstrip('/')}/{database}", database


def drop_database(admin_url, database):
    subprocess.run(["psql", "-q", "-d", admin_url, "-c", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"])


def server_env(database_url, port):
    return dict(os.environ, DATABASE_URL=database_url, LEPTOS_SITE_ADDR=f"127.0.0.1:{port}",
                OOIEVAAR_PUBLIC_URL=f"http://localhost:{port}", RUST_LOG="warn")


class Server:
    def __init__(self, binary, env, workdir, port):
        self.binary, self.env, self.workdir, self.port = binary, env, workdir, port
        self.proc = None

    def cli(self, *args):
        return subprocess.run(
            [self.binary, *args], env=self.env, cwd=self.workdir, check=True,
            capture_output=True, text=True,
        ).stdout

    def start(self):
        """Starts `serve` and waits for /healthz; returns the seconds it took."""
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary, "serve"], env=self.env, cwd=self.workdir,
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.workdir, "serve.log"), "ab"),
        )
        deadline = started + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"crash test: serve exited with {self.proc.returncode}; see {self.workdir}/serve.log")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.01)
        sys.exit("crash test: serve did not answer /healthz within 60 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def post(port, path, form, cookie=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
    if cookie:
        headers["cookie"] = cookie
    c.request("POST", path, urllib.parse.urlencode(form), headers)
    r = c.getresponse()
    body = r.read().decode()
    cookies = [v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie"]
    return r.status, body, (cookies[-1] if cookies else cookie)


def log_in_and_grant(server):
    """A midwife's session with a grant for the demo client; returns (cookie, client page path)."""
    status, body, cookie = post(server.port, "/api/login", {"username": USER, "password": PASSWORD})
    assert status == 200, f"login: {status} {body}"
    code = server.cli("demo", "code", USER).strip().split()[-1]
    status, body, cookie = post(server.port, "/api/login_code", {"code": code}, cookie)
    assert status == 200, f"second step: {status} {body}"
    status, body, _ = post(server.port, "/api/search", {"bsn": DEMO_BSN, "birth_date": DEMO_BIRTH}, cookie)
    assert status == 200, f"search: {status} {body}"
    client_id = json.loads(body)["found"]["client_id"]
    status, body, _ = post(server.port, "/api/request_access", {
        "client_id": client_id, "ground": "behandelrelatie", "reason": "", "attest": "ja"}, cookie)
    assert status == 200, f"request access: {status} {body}"
    return cookie, f"/clients/{client_id}"


def read_request_ids(database_url):
    sql = "SELECT request_id FROM audit_events WHERE action = 'read'"
    if database_url.startswith("sqlite://"):
        db = sqlite3.connect(f"file:{database_url[len('sqlite://'):]}?mode=ro", uri=True)
        try:
            return {row[0] for row in db.execute(sql)}
        finally:
            db.close()
    out = subprocess.run(["psql", "-At", "-d", database_url, "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return set(out.split())


