#!/usr/bin/env bash
# `make run`: set up, build (the quick profile: see Cargo.toml), seed the demo network on a new database, serve.
source "$(dirname "$0")/env.sh"
scripts/setup.sh

scripts/build.sh --quick

export DATABASE_URL="${DATABASE_URL:-sqlite://data/ooievaar.db}"
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
BIN="$CARGO_TARGET_DIR/quick/ooievaar"

if [[ "$DATABASE_URL" == sqlite://* ]] && [ ! -f "${DATABASE_URL#sqlite://}" ]; then
  step "new database: seeding the demo network"
  "$BIN" demo seed
else
  "$BIN" demo logins
fi

# Passkeys (WebAuthn) need a host name, not an IP address: show the localhost address.
SHOWN_ADDR="${LEPTOS_SITE_ADDR/127.0.0.1/localhost}"
step "Ooievaar draait op http://$SHOWN_ADDR (stoppen: Ctrl-C)"
exec "$BIN" serve
