# Shared settings of the scripts (sourced, not run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Build output lives outside the checkout, so a fresh clone on the same machine builds incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ooievaar/target}"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"
# Read by Leptos at compile time (option_env!) and by the server at start: the values of
# Cargo.toml's [[workspace.metadata.leptos]], the same cargo-leptos passes. Every build of the
# scripts sees them, so the tests, the browser tests' server and `make run` share artifacts.
export LEPTOS_OUTPUT_NAME=ooievaar LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
  LEPTOS_LIB_DIR=app LEPTOS_BIN_DIR=server LEPTOS_HASH_FILES=false
BINARYEN_VERSION=132
# Each step with the clock time, so a log shows where a long run (make test) spends it.
step() { printf '\n\033[1m==> %s\033[0m  (%s)\n' "$*" "$(date +%T)"; }
