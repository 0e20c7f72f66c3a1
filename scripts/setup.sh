#!/usr/bin/env bash
# Installs what building Ooievaar needs (scripts/build.sh), skipping what is already there:
# the wasm target, wasm-bindgen-cli (the Cargo.lock version), and
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

# wasm-bindgen-cli only orchestrates the build, so it is compiled with a quick profile: no
# LTO, parallel code generation and opt-level 1. (cargo-leptos is not installed: compiling it
# took 15.6 minutes of a fresh machine's first run, and scripts/build.sh does its five steps.)
quick_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
  CARGO_PROFILE_RELEASE_INCREMENTAL=false cargo install "$@"
}

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
