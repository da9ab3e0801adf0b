#!/usr/bin/env bash
# Installs LibreOffice Calc (headless, no GUI) if it is missing: tests/spreadsheet.rs
# opens the exported contact list in a real spreadsheet with formula evaluation on.
set -euo pipefail

packages=(libreoffice-calc-nogui)

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
