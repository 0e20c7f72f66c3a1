#!/usr/bin/env bash
# The browser bundle's size budget (issue 15), run by `make test` after the build `make run` serves.
# A size check, never a timing test: the same build gives the same bytes on any machine.
#
#   scripts/check-bundle-size.sh            # after `scripts/build.sh --quick` (as make test)
#   OOIEVAAR_BIN=$CARGO_TARGET_DIR/release/ooievaar scripts/check-bundle-size.sh  # after --release
#
# It fails (exit 1, naming the file, its size and the budget) when
#   1. the release wasm, gzip -9, is larger than WASM_GZIP_BUDGET, or
#   2. the first load of a client page is larger than FIRST_LOAD_BUDGET: the page's HTML, the
#      CSS, the JS and the wasm, each as the server sends them to a browser that accepts
#      `br, gzip` (the server compresses responses itself: tower-http's CompressionLayer, which
#      picks brotli; there are no precompressed files). For that it starts that build's server
#      on a new SQLite database with the demo network, logs in as the maternity nurse, requests
#      access to a demo client and fetches her page with curl.
#
# The budgets, in bytes (1 KB = 1,000 bytes). They bind every later change (issue 15, item 7):
# raise them only with a reason in the commit message.
WASM_GZIP_BUDGET=150000
FIRST_LOAD_BUDGET=300000

source "$(dirname "$0")/env.sh"
BIN="${OOIEVAAR_BIN:-$CARGO_TARGET_DIR/quick/ooievaar}"
PKG="${LEPTOS_SITE_ROOT:-target/site}/pkg"
ADDR="127.0.0.1:${BUNDLE_CHECK_PORT:-3190}"
USER_NAME=kraamverzorgende
CLIENT_BSN=999990032 # Joyce Kramer in the demo seed
CLIENT_BIRTH=1991-04-06

failed=0
over() { # what, file, size, budget
  echo "FAIL: $1 $2 is $3 bytes, over its budget of $4 bytes (scripts/check-bundle-size.sh)" >&2
  failed=1
}

# --- 1. the wasm, gzip -9 ---------------------------------------------------------------------
wasm=$(ls "$PKG"/*.wasm 2>/dev/null | head -1 || true)
if [ -z "$wasm" ]; then
  echo "FAIL: no wasm in $PKG; run scripts/build.sh --quick (or --release) first" >&2
  exit 1
fi
wasm_raw=$(stat -c %s "$wasm")
wasm_gz=$(gzip -9 -c "$wasm" | wc -c)
echo "wasm:       $wasm  $wasm_raw bytes raw, $wasm_gz bytes gzip -9 (budget $WASM_GZIP_BUDGET)"
[ "$wasm_gz" -le "$WASM_GZIP_BUDGET" ] || over "the release wasm (gzip -9)" "$wasm" "$wasm_gz" "$WASM_GZIP_BUDGET"

# --- 2. the first load of a client page, as served ----------------------------------------------
if ! [ -x "$BIN" ]; then
  echo "FAIL: no release binary at $BIN for the first-load check" >&2
  exit 1
fi
WORK=$(mktemp -d /tmp/ooievaar-bundle.XXXXXX)
export DATABASE_URL="sqlite://$WORK/bundle.db"
export LEPTOS_SITE_ADDR="$ADDR"
"$BIN" demo seed >/dev/null
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://$ADDR/healthz" >/dev/null && break
  sleep 0.2
done

JAR="$WORK/cookies"
# A browser's form posts: HTML accepted, so the server answers with a redirect.
post() { curl -s -o /dev/null -b "$JAR" -c "$JAR" -H 'Accept: text/html' -w '%{http_code}' --data "$2" "http://$ADDR$1"; }
get() { curl -s -b "$JAR" -c "$JAR" "http://$ADDR$1"; }
# Bytes on the wire (the compressed body) of one GET, as a browser asks for it.
served() { curl -s -o /dev/null -b "$JAR" -H 'Accept-Encoding: br, gzip' -w '%{size_download} %header{content-encoding}' "http://$ADDR$1"; }

post /api/login "username=$USER_NAME&password=ooievaar-demo-2026" >/dev/null
post /api/login_code "code=$("$BIN" demo code "$USER_NAME")" >/dev/null
post /api/search "bsn=$CLIENT_BSN&birth_date=$CLIENT_BIRTH" >/dev/null
client=$(get / | grep -o 'href="/clients/[^"?]*"' | head -1 | sed 's/^href="//; s/"$//' || true)
if [ -z "$client" ]; then
  echo "FAIL: the first-load check could not log in and find the demo client (server log: $WORK/server.log)" >&2
  trap - EXIT; kill $SERVER; exit 1
fi
post /api/request_access "client_id=${client#/clients/}&ground=behandelrelatie&reason=&attest=ja" >/dev/null
html=$(get "$client")
if ! grep -q 'class="client-header' <<<"$html"; then
  echo "FAIL: the first-load check got no client page at $client" >&2
  exit 1
fi
# What the page loads: its stylesheet, the islands loader's JS and wasm (preloaded in <head>),
# and passkeys.js.
assets=$(grep -oE '(href|src)="/[^"]+\.(css|js|wasm)"' <<<"$html" | sed -E 's/^(href|src)="//; s/"$//' | sort -u || true)
total=0
out=$(served "$client"); bytes=${out%% *}; enc=${out#"$bytes"}; enc=${enc# }
printf '  %-28s %7s bytes %s\n' "client page HTML" "$bytes" "${enc:-identity}"
total=$((total + bytes))
for a in $assets; do
  out=$(served "$a"); bytes=${out%% *}; enc=${out#"$bytes"}; enc=${enc# }
  printf '  %-28s %7s bytes %s\n' "$a" "$bytes" "${enc:-identity}"
  total=$((total + bytes))
done
echo "first load: a client page, HTML + CSS + JS + wasm as served: $total bytes (budget $FIRST_LOAD_BUDGET)"
[ "$total" -le "$FIRST_LOAD_BUDGET" ] || over "the first load of" "$client (HTML + CSS + JS + wasm as served)" "$total" "$FIRST_LOAD_BUDGET"
# The summary line of scripts/test.sh.
echo "bundle size summary: wasm $wasm_gz bytes gzip (budget $WASM_GZIP_BUDGET), first load $total bytes (budget $FIRST_LOAD_BUDGET)"
exit $failed
