#!/usr/bin/env bash
# Installs what building Ooievaar needs, skipping what is already there:
# the wasm target, cargo-leptos (pinned), wasm-bindgen-cli (the Cargo.lock version), and
# wasm-opt from npm binaryen (Debian's is too old: its output does not hydrate).
source "$(dirname "$0")/env.sh"

# Passkeys (webauthn-rs) link OpenSSL: its headers and pkg-config from Debian when missing.
if ! pkg-config --exists openssl 2>/dev/null; then
  step "apt-get install libssl-dev pkg-config (passkeys link OpenSSL)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The tools only orchestrate the build, so they are compiled with a quick profile: no LTO,
# parallel code generation and opt-level 1, where cargo-leptos's own release profile asks for
# fat LTO and one codegen unit (a long serial link on 2 cores). Their speed at run time is not
# felt: rustc and wasm-opt do the heavy work.
quick_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
  CARGO_PROFILE_RELEASE_INCREMENTAL=false cargo install "$@"
}

if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"; then
  step "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes on 2 cores, once)"
  quick_install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
fi

WB=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if ! (command -v wasm-bindgen >/dev/null && wasm-bindgen --version | grep -q " $WB\$"); then
  step "cargo install wasm-bindgen-cli $WB (about 2 minutes, once)"
  # Not --locked: a locked dependency of the CLI is no longer in the index.
  quick_install wasm-bindgen-cli --version "$WB" --force
fi

if ! [ -x tools/node_modules/.bin/wasm-opt ]; then
  step "npm install binaryen@$BINARYEN_VERSION (wasm-opt for release builds)"
  mkdir -p tools
  (cd tools && [ -f package.json ] || echo '{"name":"ooievaar-tools","private":true}' > package.json
   cd "$ROOT/tools" && npm install --no-fund --no-audit --silent "binaryen@$BINARYEN_VERSION")
fi
