#!/usr/bin/env bash
# `make test`: installs what the tests need, then runs every check:
# fmt, clippy (ssr + hydrate), unit and store tests (SQLite and PostgreSQL), integration tests
# through the real router, API fuzzing of the source API (schemathesis), browser tests in
# headless Chromium (JavaScript off and on), and the release build that `make run` serves.
source "$(dirname "$0")/env.sh"
STARTED=$(date +%s)
scripts/setup.sh

# --- test tools ---------------------------------------------------------------------------
if ! [ -x /usr/bin/chromium ]; then
  step "apt-get install chromium (browser tests)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
if ! [ -d end2end/node_modules/@playwright/test ] || ! [ -d end2end/node_modules/@axe-core/playwright ]; then
  step "npm ci in end2end (Playwright runner; the browser is Debian's chromium)"
  (cd end2end && npm ci --no-fund --no-audit --silent)
fi

# --- PostgreSQL: use the one on 127.0.0.1:5432, or start a throw-away cluster ---------------
PG_STARTED_DIR=""
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && psql -h 127.0.0.1 -U postgres -tAc 'select 1' >/dev/null 2>&1; then
  export OOIEVAAR_TEST_PG="postgres://postgres@127.0.0.1:5432"
else
  step "no PostgreSQL on 127.0.0.1:5432: starting a throw-away cluster on port 55432"
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  if ! [ -x "$PGBIN/initdb" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  PG_STARTED_DIR=$(mktemp -d /tmp/ooievaar-pg.XXXXXX)
  chown postgres:postgres "$PG_STARTED_DIR" 2>/dev/null || true
  RUNAS=""; [ "$(id -u)" = 0 ] && RUNAS="su postgres -c"
  if [ -n "$RUNAS" ]; then
    $RUNAS "$PGBIN/initdb -D $PG_STARTED_DIR/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >/dev/null
    $RUNAS "$PGBIN/pg_ctl -D $PG_STARTED_DIR/data -o '-p 55432 -k $PG_STARTED_DIR -c listen_addresses=127.0.0.1' -l $PG_STARTED_DIR/log -w start" >/dev/null
  else
    "$PGBIN/initdb" -D "$PG_STARTED_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    "$PGBIN/pg_ctl" -D "$PG_STARTED_DIR/data" -o "-p 55432 -k $PG_STARTED_DIR -c listen_addresses=127.0.0.1" -l "$PG_STARTED_DIR/log" -w start >/dev/null
  fi
  export OOIEVAAR_TEST_PG="postgres://postgres@127.0.0.1:55432"
fi
cleanup() {
  local status=$? host port
  if [ "$status" != 0 ]; then
    # CI keeps only the tail of the output: name each panicked test's place and message last.
    grep -ah -A2 "panicked at" "$CARGO_TARGET_DIR/unit-tests.log" "$CARGO_TARGET_DIR/integration-tests.log" 2>/dev/null |
      grep -av -e "^stack backtrace:" -e "^--$" | head -40 | sed 's/^/failed: /' >&2 || true
  fi
  # The tests create one database each; drop them so runs do not pile up.
  host=127.0.0.1; port=${OOIEVAAR_TEST_PG##*:}
  psql -h "$host" -p "$port" -U postgres -tAc \
    "select datname from pg_database where datname like 'ooievaar\_test\_%' or datname like 'ooievaar\_store\_%' or datname like 'ooievaar\_bench\_%'" 2>/dev/null |
    while read -r db; do psql -h "$host" -p "$port" -U postgres -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true; done
  if [ -n "$PG_STARTED_DIR" ]; then
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    if [ "$(id -u)" = 0 ]; then su postgres -c "$PGBIN/pg_ctl -D $PG_STARTED_DIR/data stop -m fast" >/dev/null 2>&1 || true
    else "$PGBIN/pg_ctl" -D "$PG_STARTED_DIR/data" stop -m fast >/dev/null 2>&1 || true; fi
  fi
}
trap cleanup EXIT
# Logs of an earlier run must not be taken for this run's failures.
rm -f "$CARGO_TARGET_DIR/unit-tests.log" "$CARGO_TARGET_DIR/integration-tests.log"

# Same flags as scripts/build.sh's debug build, so tests and the browser build share artifacts.
export RUSTFLAGS="--cfg erase_components"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (server side: domain, backend, app with ssr, server, and their tests)"
cargo clippy -p domain -p backend --all-targets --features backend/test-support -- -D warnings
cargo clippy -p app --features ssr --all-targets -- -D warnings
cargo clippy -p server --all-targets -- -D warnings
step "cargo clippy (browser: domain and app with hydrate, wasm32)"
cargo clippy -p domain -p app --features app/hydrate --target wasm32-unknown-unknown -- -D warnings
step "the browser bundle never links the server side"
# The compiler holds the layers: the hydrate build's dependency tree has no backend, no sqlx.
if cargo tree -p app --features hydrate --target wasm32-unknown-unknown -e normal | grep -E "^.*(backend|sqlx|tokio) v"; then
  echo "the wasm build depends on server-only crates" >&2
  exit 1
fi

step "unit and store tests (domain, backend with the store suite on SQLite and on $OOIEVAAR_TEST_PG, app)"
cargo test -p domain -p backend -p app --features app/ssr,backend/test-support 2>&1 | tee "$CARGO_TARGET_DIR/unit-tests.log"

step "integration tests through the real router (SQLite and PostgreSQL)"
cargo test -p server 2>&1 | tee "$CARGO_TARGET_DIR/integration-tests.log"

step "API fuzzing with schemathesis against openapi.json"
# Uses the debug binary the integration tests just built; installs schemathesis into tools/venv.
scripts/schemathesis.sh 2>&1 | tee "$CARGO_TARGET_DIR/schemathesis.log"
[ "${PIPESTATUS[0]}" = 0 ]

step "browser tests in headless Chromium (JavaScript off and on)"
E2E_DIR=$(mktemp -d /tmp/ooievaar-e2e.XXXXXX)
export LEPTOS_SITE_ADDR="127.0.0.1:3100"
export BASE_URL="http://127.0.0.1:3100"
export DATABASE_URL="sqlite://$E2E_DIR/e2e.db"
# Passkeys need a host name as relying party (WebAuthn refuses an IP address): the passkey
# test opens the app at localhost.
export OOIEVAAR_PUBLIC_URL="http://localhost:3100"
# The browser tests add their own accounts (first-login enrolment) with the command line.
export OOIEVAAR_BIN="$CARGO_TARGET_DIR/debug/ooievaar"
scripts/build.sh
"$OOIEVAAR_BIN" demo seed >/dev/null
"$OOIEVAAR_BIN" serve > "$E2E_DIR/server.log" 2>&1 &
E2E_SERVER=$!
set +e
# Playwright's globalSetup waits for /healthz.
(cd end2end && npx playwright test) 2>&1 | tee "$CARGO_TARGET_DIR/e2e-tests.log"
E2E_STATUS=${PIPESTATUS[0]}
set -e
kill "$E2E_SERVER" 2>/dev/null; wait "$E2E_SERVER" 2>/dev/null || true
if [ "$E2E_STATUS" != 0 ]; then
  echo "browser tests failed; the server's log:" >&2
  tail -50 "$E2E_DIR/server.log" >&2
  exit 1
fi
"$CARGO_TARGET_DIR/debug/ooievaar" audit verify
unset DATABASE_URL LEPTOS_SITE_ADDR BASE_URL OOIEVAAR_PUBLIC_URL OOIEVAAR_BIN

step "kill -9 under load: every view answered has its durable read event (SQLite and PostgreSQL)"
# The real binary, SIGKILLed 100 times per backend at random moments (scripts/crash_test.py).
: > "$CARGO_TARGET_DIR/crash-test.log"
for backend in sqlite postgres; do
  python3 scripts/crash_test.py --bin "$CARGO_TARGET_DIR/debug/ooievaar" --backend $backend \
    --admin-url "$OOIEVAAR_TEST_PG" --kills 100 2>&1 | tee -a "$CARGO_TARGET_DIR/crash-test.log"
  [ "${PIPESTATUS[0]}" = 0 ]
done

step "the build make run serves (quick profile, release front end)"
scripts/build.sh --quick

step "the browser bundle's size budget (the release wasm; a client page's first load as served)"
scripts/check-bundle-size.sh 2>&1 | tee "$CARGO_TARGET_DIR/bundle-size.log"
[ "${PIPESTATUS[0]}" = 0 ]

step "summary"
count() { grep -E "^test result:" "$1" | awk '{p+=$4; f+=$6} END {printf "%d passed, %d failed", p, f}'; }
echo "unit + store tests:  $(count "$CARGO_TARGET_DIR/unit-tests.log")"
echo "  of which store tests on SQLite:     $(grep -cE '^test .*::sqlite \.\.\. ok' "$CARGO_TARGET_DIR/unit-tests.log")"
echo "  of which store tests on PostgreSQL: $(grep -cE '^test .*::postgres \.\.\. ok' "$CARGO_TARGET_DIR/unit-tests.log")"
echo "integration tests:   $(count "$CARGO_TARGET_DIR/integration-tests.log")"
echo "API fuzzing:         $(grep '^schemathesis summary:' "$CARGO_TARGET_DIR/schemathesis.log" | tail -1 | sed 's/^schemathesis summary: //')"
echo "browser tests:       $(grep -E '[0-9]+ passed' "$CARGO_TARGET_DIR/e2e-tests.log" | tail -1 | sed 's/^ *//')"
echo "  JS off (ssr project): $(grep -c '\[ssr\]' "$CARGO_TARGET_DIR/e2e-tests.log" || true)  JS on (hydrate project): $(grep -c '\[hydrate\]' "$CARGO_TARGET_DIR/e2e-tests.log" || true)"
grep '^crash test (' "$CARGO_TARGET_DIR/crash-test.log" | sed 's/^/kill -9: /'
echo "bundle size:         $(grep '^bundle size summary:' "$CARGO_TARGET_DIR/bundle-size.log" | sed 's/^bundle size summary: //')"
echo "make test took $(( $(date +%s) - STARTED )) s"
