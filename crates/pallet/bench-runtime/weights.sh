#!/usr/bin/env bash
# Measures pallet-keywheel's weights in the Wasm executor and writes them to
# crates/pallet/src/weights/measured.rs:
#
#   bash crates/pallet/bench-runtime/weights.sh [STEPS] [REPEAT]
#
# Builds this runtime to Wasm with `runtime-benchmarks`, installs frame-omni-bencher (the
# version of this polkadot-sdk release) if it is missing, and runs every benchmark of the
# pallet. Takes about an hour on a 2-core machine, most of it building (BENCHMARKS.md).
set -euo pipefail

steps="${1:-10}"
repeat="${2:-5}"
here="$(cd "$(dirname "$0")" && pwd)"
pallet="$(dirname "$here")"
target="${CARGO_TARGET_DIR:-$here/target}"
bencher_version="0.28.0"

if ! frame-omni-bencher --version 2>/dev/null | grep -q "$bencher_version"; then
  cargo install frame-omni-bencher --version "$bencher_version" --locked
fi

# The hint points substrate-wasm-builder at this lock file and this crate's patches.
(cd "$here" && WASM_BUILD_WORKSPACE_HINT="$here" CARGO_TARGET_DIR="$target" \
  cargo build --release --locked --features runtime-benchmarks)
wasm="$target/release/wbuild/keywheel-bench-runtime/keywheel_bench_runtime.compact.compressed.wasm"
test -f "$wasm" || { echo "no runtime at $wasm" >&2; exit 1; }

# From the repository root, so the command recorded in the generated file has no local paths.
cd "$pallet/../.."
frame-omni-bencher v1 benchmark pallet \
  --runtime "$wasm" \
  --pallet pallet_keywheel \
  --extrinsic '*' \
  --steps "$steps" \
  --repeat "$repeat" \
  --template crates/pallet/bench-runtime/weights.hbs \
  --output crates/pallet/src/weights/measured.rs
