#!/usr/bin/env bash
# Sets up this machine and runs every check and test: formatting, lints, the scanners on
# real USB gadgets in a virtual machine (tests/hil), unit and integration tests (real
# Secret Service keyring in a private D-Bus session, real tmpfs
# for full-disk tests, the real app over WebDriver under Xvfb with an accessibility audit
# by axe-core; the X screen is large enough for a 1080 × 1920 portrait window).
set -euo pipefail
cd "$(dirname "$0")/.."

# A cold run on a fresh machine takes about 7 GB of disk: 4.5 GB in the target directory
# (the build 4.2 GB, the packages 0.3 GB), 0.7 GB of crate sources, 0.4 GB for the kernel
# of the USB tests, 1.2 GB of system packages. Say so before a build that would stop on
# a full disk, and at the end how much it took.
target_dir=${CARGO_TARGET_DIR:-target}
mkdir -p "$target_dir"
free_kb=$(df -Pk "$target_dir" | awk 'NR == 2 { print $4 }')
echo "test.sh: $((free_kb / 1024)) MB free for $target_dir"
if [ "$free_kb" -lt $((5 * 1024 * 1024)) ]; then
  echo "test.sh: less than 5 GB free on the disk of $target_dir; the build alone takes 4.5 GB" >&2
  exit 1
elif [ "$free_kb" -lt $((7 * 1024 * 1024)) ]; then
  echo "test.sh: warning: less than 7 GB free; a cold run on a fresh machine takes about 7 GB" >&2
fi

scripts/setup-system.sh
scripts/setup-spreadsheet.sh
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --version '^2' --locked
fi

# axe-core for the accessibility audit of the e2e tests (from npm, locked).
if [ ! -f tests/a11y/node_modules/axe-core/axe.min.js ]; then
  npm ci --prefix tests/a11y --no-audit --no-fund
fi

cargo fmt --all -- --check
# The app is built as it is shipped, with Tauri's custom-protocol feature: the e2e tests
# run that app, and the package check below bundles that same build instead of compiling
# the app and its dependencies a second time. Every cargo command here names it, so that
# they all share one build.
app_as_shipped=--features=tresen-app/custom-protocol
export TRESEN_CARGO_FEATURES=$app_as_shipped
# Lints. A cold build (CI's fresh clone) is linted while it compiles: clippy-driver as the
# workspace's compiler wrapper with `-D warnings` is what `cargo clippy --workspace
# --all-targets -- -D warnings` runs, but in the same build as the tests, so that the
# dependencies are compiled once and not a second time for clippy alone (ten minutes of a
# cold run). Exported, so that the tests and the package build reuse that build. A warm
# target may hold crates built without the wrapper, which cargo would not build again:
# there `cargo clippy` runs, its dependencies' checks are then mostly cached.
if [ -d "${CARGO_TARGET_DIR:-target}/debug/.fingerprint" ]; then
  cargo clippy --workspace --all-targets --locked "$app_as_shipped" -- -D warnings
else
  if ! RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver); then
    echo "clippy-driver not found: install clippy with 'rustup component add clippy'" >&2
    exit 1
  fi
  CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
  # A fresh clone is built once: an incremental cache (over 1 GB) would only fill the disk.
  CARGO_INCREMENTAL=0
  export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS CARGO_INCREMENTAL
fi
cargo build --workspace --all-targets --locked "$app_as_shipped"
# The tests use the workspace's other tools from this build (cli/tresen/tests/common).
export TRESEN_WORKSPACE_BUILT=1

# Hardware in the loop: the scanners on real USB gadgets in a QEMU guest (about 2 minutes).
tests/hil/hil.sh "${CARGO_TARGET_DIR:-target}/debug"

export TRESEN_REQUIRE_KEYRING=1 TRESEN_REQUIRE_E2E=1 TRESEN_REQUIRE_SPREADSHEET=1
if [ "$(id -u)" -eq 0 ]; then export TRESEN_REQUIRE_TMPFS=1 TRESEN_REQUIRE_FUSE=1; fi
XDG_DATA_HOME=$(mktemp -d)
XDG_RUNTIME_DIR=$(mktemp -d)
chmod 700 "$XDG_RUNTIME_DIR"
export XDG_DATA_HOME XDG_RUNTIME_DIR

# A private D-Bus session with an unlocked gnome-keyring (empty password on stdin), and
# an X server for the app: the tests use the real things, not mocks.
dbus-run-session -- sh -c '
  eval "$(echo "" | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL
  exec xvfb-run -a -s "-screen 0 2560x2560x24" cargo test --workspace --locked "$TRESEN_CARGO_FEATURES"
'

# The Debian packages, built from the debug build with Tauri's bundler and checked with
# dpkg-deb (the full install test in a chroot: scripts/package.sh --install-test).
scripts/package.sh --quick
echo "test.sh: $(du -sh "$target_dir" | cut -f1) in $target_dir; $(($(df -Pk "$target_dir" | awk 'NR == 2 { print $4 }') / 1024)) MB left free"
