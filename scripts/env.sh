# Shared settings of the scripts (sourced, not run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Build output lives outside the checkout, so a fresh clone on the same machine builds incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ooievaar/target}"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"
CARGO_LEPTOS_VERSION=0.3.10
BINARYEN_VERSION=132
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
