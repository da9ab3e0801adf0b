#!/usr/bin/env bash
# Runs every fuzz target for a while (default 60 s each; FUZZ_SECONDS changes it).
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain build them.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
seconds=${FUZZ_SECONDS:-60}
# The wire formats (fuzz/, on the protocol crate alone) and what operators type
# (fuzz/operator-input/).
for dir in fuzz fuzz/operator-input; do
  for target in $(RUSTC_BOOTSTRAP=1 cargo fuzz list --fuzz-dir "$dir"); do
    echo "== fuzzing $dir/$target for ${seconds}s"
    RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir "$dir" "$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048
  done
done
