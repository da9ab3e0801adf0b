#!/usr/bin/env bash
# Builds the Debian packages into build/package/:
#   tresen_<version>_amd64.deb       the app (Tauri's bundler), the `tresen` command, the
#                                    scanner udev rule, the desktop entry, man pages,
#                                    shell completions and the font licence;
#   tresen-health-office_<version>_amd64.deb   the authority's tool, for its own PCs;
#   tresen-<version>-1.x86_64.rpm    the app's package for RPM-based systems.
# Then checks what they hold and what they depend on. With --install-test it also installs
# them on a fresh Debian 12 built with debootstrap (scripts/package-install-test.sh);
# `--install-test OLD.deb` installs an older package there first and upgrades from it.
# `--quick` (what CI runs) builds the packages from the debug build and checks them, without
# installing: that the bundler still makes them, with every file and dependency.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tauri's bundler, tauri-cli 2.12.4: the prebuilt binary npm serves, the same release as
# on crates.io, which takes seconds instead of the eleven minutes `cargo install
# tauri-cli` compiles. The version is exact in scripts/tauri-cli/package.json, and the
# platform binary is pinned exactly by that release (npm checks its integrity); no lock
# file, as npm's lock of this package lists other platforms' binaries that `npm ci` then
# wants.
scripts/setup-system.sh
if ! scripts/tauri-cli/node_modules/.bin/tauri --version 2>/dev/null | grep -qx "tauri-cli 2.12.4"; then
  npm install --prefix scripts/tauri-cli --no-package-lock --no-audit --no-fund
fi
tauri=$PWD/scripts/tauri-cli/node_modules/.bin/tauri

profile=release
profile_flag=--release
if [ "${1:-}" = "--quick" ]; then
  profile=debug
  profile_flag=
fi
target=${CARGO_TARGET_DIR:-$PWD/target}
stage=build/package
rm -rf "$stage"
mkdir -p "$stage"
if [ "${1:-}" = "--quick" ]; then
  # The workspace's own build, the app as shipped (after scripts/test.sh's, nothing to
  # do): the tools and the app alone would be built with other sets of dependency
  # features, compiled anew.
  cargo build --workspace --all-targets --locked --features=tresen-app/custom-protocol
else
  cargo build $profile_flag --locked -p tresen-cli -p health-office
fi
cp "$target/$profile/tresen" "$stage/"
"$stage/tresen" generate-docs --out "$stage"
gzip -9n "$stage"/man/*.1

# The package's part of the Tauri configuration, with this checkout's absolute paths.
sed "s|@REPO@|$PWD|g" assets/linux/package.json > "$stage/tauri.package.json"
# Run from src-tauri/: from the top level, tauri-cli would take the root package for the app.
# --quick bundles the app of the workspace build above; the release is built for the package.
if [ "${1:-}" = "--quick" ]; then
  (cd src-tauri && "$tauri" bundle --ci --debug --bundles deb,rpm --config "../$stage/tauri.package.json")
else
  (cd src-tauri && "$tauri" build --ci --bundles deb,rpm --config "../$stage/tauri.package.json" -- --locked)
fi
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' tauri.conf.json)
cp "$target/$profile/bundle/deb/Tresen_${version}_amd64.deb" "$stage/tresen_${version}_amd64.deb"
# The same for RPM-based systems (Fedora, openSUSE); built and checked, not install-tested.
cp "$target/$profile/bundle/rpm/Tresen-${version}-1.x86_64.rpm" "$stage/tresen-${version}-1.x86_64.rpm"

# The health office's tool: a plain binary package.
ho="$stage/health-office-root"
mkdir -p "$ho/DEBIAN" "$ho/usr/bin" "$ho/usr/share/doc/tresen-health-office"
install -m 0755 "$target/$profile/health-office" "$ho/usr/bin/health-office"
cp CHANGELOG.md "$ho/usr/share/doc/tresen-health-office/"
cat > "$ho/DEBIAN/control" <<CONTROL
Package: tresen-health-office
Version: $version
Architecture: amd64
Maintainer: Tresen <tresen@example.org>
Depends: libc6 (>= 2.34)
Section: misc
Priority: optional
Description: Tresen for health offices
 Makes signed data requests for venues that run Tresen and opens their sealed
 answers into a contact list. Venues do not need this package.
CONTROL
dpkg-deb --root-owner-group --build "$ho" "$stage/tresen-health-office_${version}_amd64.deb" >/dev/null
rm -rf "$ho"

scripts/package-check.sh "$stage/tresen_${version}_amd64.deb" "$stage/tresen-health-office_${version}_amd64.deb" \
  "$stage/tresen-${version}-1.x86_64.rpm"
if [ "${1:-}" = "--install-test" ]; then
  if [ -n "${2:-}" ]; then
    # An older package to install first and upgrade from.
    scripts/package-install-test.sh "$stage/tresen_${version}_amd64.deb" --upgrade-from "$2"
  else
    scripts/package-install-test.sh "$stage/tresen_${version}_amd64.deb"
  fi
fi
