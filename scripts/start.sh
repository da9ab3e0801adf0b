#!/usr/bin/env bash
# Sets up this machine, builds Tresen (optimised) and starts the app. Extra arguments go
# to the app, e.g. `--data-dir DIR`. Without a display it runs under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-system.sh
cargo build --release --locked -p tresen-cli -p health-office -p tresen-app \
  --features tresen-app/custom-protocol
echo "Command-line tools: target/release/tresen and target/release/health-office"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display found: starting the app under Xvfb (headless)."
  exec xvfb-run -a -s "-screen 0 1280x1024x24" target/release/tresen-app "$@"
fi
exec target/release/tresen-app "$@"
