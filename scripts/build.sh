#!/usr/bin/env bash
# Builds the site and the server: what `cargo leptos build [--release]` builds, without
# cargo-leptos. Compiling cargo-leptos itself took 15.6 of a fresh machine's first 30 minutes
# (issue 15, item 6), and everything it does for this project is five steps:
#   1. the browser half: `app` as a wasm32 library with the `hydrate` feature;
#   2. wasm-bindgen (the Cargo.lock version, from scripts/setup.sh) writes pkg/ooievaar.{js,wasm};
#   3. release only: wasm-opt -Oz (npm binaryen, scripts/setup.sh);
#   4. the stylesheet and public/ are copied into the site;
#   5. the server binary `ooievaar`.
# The settings are the ones in Cargo.toml's [[workspace.metadata.leptos]] (output name, site
# root, packages, features, the wasm-release profile), so `cargo leptos build` still builds the
# same thing for whoever prefers it (and `cargo leptos watch` for the development loop).
#
#   scripts/build.sh            debug (what the browser tests serve), with --cfg erase_components
#   scripts/build.sh --quick    the server on the `quick` profile (what `make run` serves: fast to
#                               compile, no LTO), with the release front end
#   scripts/build.sh --release  release (what the benchmarks measure and production runs)
# Both --quick and --release build the same size-optimised front end (profile wasm-release).
source "$(dirname "$0")/env.sh"

RELEASE=0; BIN_DIR=debug
case "${1:-}" in
  --release) RELEASE=1; BIN_DIR=release ;;
  --quick) RELEASE=1; BIN_DIR=quick ;;
  "") ;;
  *) echo "usage: scripts/build.sh [--quick|--release]" >&2; exit 2 ;;
esac

SITE="$ROOT/$LEPTOS_SITE_ROOT"
PKG="$SITE/$LEPTOS_SITE_PKG_DIR"

if [ $RELEASE = 1 ]; then
  # Release builds keep the component types (as cargo-leptos builds them).
  unset RUSTFLAGS
  LIB_PROFILE=(--profile wasm-release); LIB_DIR=wasm-release
  BIN_PROFILE=(--profile "$BIN_DIR")
else
  # Debug builds erase component types: much faster to compile; the same flags as the tests,
  # so the browser tests' server and the integration tests share their artifacts.
  export RUSTFLAGS="--cfg erase_components"
  LIB_PROFILE=(); LIB_DIR=debug
  BIN_PROFILE=()
fi

step "build the browser half (app, hydrate, wasm32)"
# Its own target dir, as cargo-leptos keeps it: the wasm build does not evict the server's.
cargo build --package=app --lib --target=wasm32-unknown-unknown \
  --target-dir="$CARGO_TARGET_DIR/front" --no-default-features --features=hydrate \
  "${LIB_PROFILE[@]}"

step "wasm-bindgen → $LEPTOS_SITE_PKG_DIR/$LEPTOS_OUTPUT_NAME.{js,wasm}"
mkdir -p "$PKG"
wasm-bindgen --target=web --out-name="$LEPTOS_OUTPUT_NAME" --out-dir="$PKG" \
  "$CARGO_TARGET_DIR/front/wasm32-unknown-unknown/$LIB_DIR/app.wasm"
# Leptos' hydration script asks for <name>.wasm (cargo-leptos renames it the same way).
mv -f "$PKG/${LEPTOS_OUTPUT_NAME}_bg.wasm" "$PKG/$LEPTOS_OUTPUT_NAME.wasm"

if [ $RELEASE = 1 ]; then
  step "wasm-opt -Oz"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$PKG/$LEPTOS_OUTPUT_NAME.wasm" -o "$PKG/$LEPTOS_OUTPUT_NAME.wasm"
fi

step "stylesheet and public files → $LEPTOS_SITE_ROOT"
cp style/main.css "$PKG/$LEPTOS_OUTPUT_NAME.css"
cp -R public/. "$SITE/"

step "build the server (ooievaar)"
cargo build --package=server --bin=ooievaar --no-default-features \
  "${BIN_PROFILE[@]}"
echo "site in $SITE, server in $CARGO_TARGET_DIR/$BIN_DIR/ooievaar"
