#!/usr/bin/env bash
# Installs the Debian 12 packages Tresen needs to build, run and test, if any are missing.
set -euo pipefail

packages=(
  build-essential pkg-config curl file
  libwebkit2gtk-4.1-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  libudev-dev libusb-1.0-0-dev
  xvfb xauth webkit2gtk-driver
  dbus dbus-x11 gnome-keyring libsecret-tools
  age poppler-utils zbar-tools util-linux
  postgresql-15
  cups-daemon cups-client cups-filters cups-ipp-utils
  qemu-system-x86 busybox-static rpm
  exfat-fuse exfatprogs fusefat dosfstools
)
# npm (for the accessibility audit's axe-core): Debian's, unless a Node.js with its own
# npm is installed already.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "Installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "Rust is not installed. Install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
