#!/usr/bin/env bash
# Hardware in the loop: every scanner scenario against real USB gadget devices on a real
# Linux kernel in QEMU (tests/hil/). One line per scenario; exit 0 only if all pass.
# Installs what is missing (QEMU, a static busybox), builds the tools, then runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-system.sh
cargo build --locked -p tresen-cli -p scanner-sim -p health-office
exec tests/hil/hil.sh "${CARGO_TARGET_DIR:-target}/debug"
