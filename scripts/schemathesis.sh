#!/usr/bin/env bash
# API fuzz check (part of `make test`): schemathesis generates calls from the running app's
# `GET /api/v1/openapi.json` and fails unless every answer is a non-5xx response that matches the
# document (status code, content type, headers and body schema).
#
# Needs the debug binary `$CARGO_TARGET_DIR/debug/ooievaar` (built by `cargo test -p server`
# earlier in scripts/test.sh; this script never runs cargo). Installs schemathesis and PyJWT, at
# the versions pinned in scripts/schemathesis-requirements.txt, into tools/venv when missing.
# Serves a fresh demo database on 127.0.0.1:3400 with the committed TEST key of the demo source
# `de-wieg-epd`; the hooks (scripts/schemathesis_hooks.py) sign a fresh token for every call,
# because the API refuses a replayed `jti`. Exits with schemathesis's status.
source "$(dirname "$0")/env.sh"
set +u

VENV="$ROOT/tools/venv"
REQUIREMENTS="$ROOT/scripts/schemathesis-requirements.txt"
ADDR="127.0.0.1:3400"
BASE="http://$ADDR"
SOURCE_ID="de-wieg-epd"
PUBLIC_KEY="$ROOT/server/tests/fixtures/keys/es256-a.pub.pem"
PRIVATE_KEY="$ROOT/server/tests/fixtures/keys/es256-a.pem"
BIN="$CARGO_TARGET_DIR/debug/ooievaar"
# Fixed seed and derandomized generation: every run makes the same calls (for the pinned versions).
SEED=20260
MAX_EXAMPLES=40

# --- schemathesis in tools/venv (skipped when it already holds exactly the pinned set) ---------
# The stamp is a copy of the requirements file, written after a successful install.
STAMP="$VENV/.schemathesis-requirements.txt"
if ! [ -x "$VENV/bin/st" ] || ! cmp -s "$REQUIREMENTS" "$STAMP"; then
  step "install schemathesis into tools/venv (versions in scripts/schemathesis-requirements.txt)"
  if ! [ -x "$VENV/bin/python" ]; then
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV"; then
      # Debian's python3 has no ensurepip without python3-venv.
      rm -rf "$VENV"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
      python3 -m venv "$VENV"
    fi
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$STAMP"
fi

if ! [ -x "$BIN" ]; then
  echo "schemathesis.sh: $BIN is missing; build it first (cargo test -p server, or cargo build -p server --bin ooievaar)" >&2
  exit 1
fi

# --- a fresh demo database with the test key, served on $ADDR ---------------------------------
WORK=$(mktemp -d /tmp/ooievaar-st.XXXXXX)
SERVER_PID=""
finish() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap finish EXIT

if curl -s -o /dev/null "$BASE/healthz"; then
  echo "schemathesis.sh: something already answers on $ADDR; stop it first" >&2
  exit 1
fi

export DATABASE_URL="sqlite://$WORK/st.db"
"$BIN" demo seed >/dev/null
"$BIN" source key add --id "$SOURCE_ID" --public-key "$PUBLIC_KEY" >/dev/null
# A consent registry with the same test key, for PUT /api/v1/consent-profiles/{bsn}.
"$BIN" registry add --id mitz-st --public-key "$PUBLIC_KEY" >/dev/null

# The fuzzer makes many calls in a few seconds; the default per-source limit would answer 429.
LEPTOS_SITE_ADDR="$ADDR" LEPTOS_SITE_ROOT=target/site OOIEVAAR_SOURCE_CALLS_PER_MINUTE=1000000 \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "$BASE/healthz" && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "schemathesis.sh: the server stopped at start-up:" >&2
    cat "$WORK/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
curl -fs -o /dev/null "$BASE/healthz" || { echo "schemathesis.sh: no /healthz on $ADDR after 10 s" >&2; exit 1; }

# --- schemathesis --------------------------------------------------------------------------
# --checks all: not_a_server_error, status_code_conformance, content_type_conformance,
#   response_headers_conformance, response_schema_conformance, negative_data_rejection and
#   ignored_auth (a 2xx call is repeated without and with a made-up token; both must be 401).
# --hypothesis-derandomize implies no example database (no `.hypothesis` folder); schemathesis
#   runs in the temporary folder anyway.
# --experimental=openapi-3.1: the document is OpenAPI 3.1 (utoipa 5), which schemathesis 3.x
#   loads only behind this flag.
# --hypothesis-suppress-health-check=filter_too_much,too_slow: the share body (arrays of entries
#   with strings of up to 4000 characters) makes hypothesis-jsonschema discard many drafts and
#   take its time; these health checks judge the generator, not the API, would stop the
#   operation untested, and too_slow depends on the machine's load (a flaky make test).
# Extra arguments of this script go to `st run` (e.g. --cassette-path /tmp/st.yaml -v).
# PYTHONDONTWRITEBYTECODE: no __pycache__ beside the hooks module in scripts/.
step "schemathesis: $MAX_EXAMPLES examples per operation, seed $SEED, every check"
set +e
(
  cd "$WORK" &&
    PYTHONPATH="$ROOT/scripts" SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONDONTWRITEBYTECODE=1 \
    OOIEVAAR_ST_KEY="$PRIVATE_KEY" OOIEVAAR_ST_SOURCE="$SOURCE_ID" \
    "$VENV/bin/st" run "$BASE/api/v1/openapi.json" \
      --base-url "$BASE" \
      --checks all \
      --hypothesis-max-examples "$MAX_EXAMPLES" \
      --hypothesis-seed "$SEED" \
      --hypothesis-derandomize \
      --experimental=openapi-3.1 \
      --hypothesis-suppress-health-check=filter_too_much,too_slow \
      --no-color \
      "$@"
) 2>&1 | tee "$WORK/schemathesis.out"
STATUS=${PIPESTATUS[0]}
set -e

if [ "$STATUS" != 0 ]; then
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    wait "$SERVER_PID" && SERVER_STATUS=0 || SERVER_STATUS=$?
    SERVER_PID=""
    echo "schemathesis.sh: the server is gone (exit status $SERVER_STATUS)"
  fi
  echo "--- server log (last 50 lines) ---"
  tail -n 50 "$WORK/server.log"
fi
# One line for the summary of make test, from schemathesis's own: the calls checked (each check
# runs on every generated call), the failed checks, and its result line per operation.
CHECKS=$(awk '$2 ~ /^[0-9]+$/ && $3 == "/" && $5 == "passed" {
    if ($4 > calls) calls = $4; failed += $4 - $2 }
  END { printf "%d calls checked, %d failed checks", calls, failed }' "$WORK/schemathesis.out")
RESULT=$(grep -E '^=+ .*( passed| failed| errored).* in [0-9.]+s =+$' "$WORK/schemathesis.out" | tail -1 | sed -E 's/^=+ //; s/ =+$//')
echo "schemathesis summary: $CHECKS; operations: ${RESULT:-no result line}; exit status $STATUS"
exit "$STATUS"
