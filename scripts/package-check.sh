#!/usr/bin/env bash
# Checks what the packages hold and declare (dpkg-deb), without installing them.
set -euo pipefail
app=$1
office=$2
rpm_pkg=${3:-}
# Paths as the archive lists them, with or without a leading "./".
paths() { dpkg-deb --contents "$1" | awk '{print $NF}' | sed 's|^\./||'; }
contents=$(paths "$app")
fail=0
expected="usr/bin/tresen-app usr/bin/tresen
  usr/lib/udev/rules.d/70-tresen-scanners.rules usr/share/applications/Tresen.desktop
  usr/share/man/man1/tresen.1.gz usr/share/man/man1/tresen-counter-join.1.gz
  usr/share/bash-completion/completions/tresen usr/share/zsh/vendor-completions/_tresen
  usr/share/fish/vendor_completions.d/tresen.fish
  usr/share/doc/tresen/LICENSE-DejaVu.txt usr/share/doc/tresen/CHANGELOG.md"
for f in $expected; do
  if ! grep -qx "$f" <<<"$contents"; then
    echo "package-check: $app lacks $f" >&2
    fail=1
  fi
done
# The RPM: the same files, its udev reload, and the runtime libraries it requires.
if [ -n "$rpm_pkg" ]; then
  rpm_contents=$(rpm -qlp "$rpm_pkg" 2>/dev/null | sed 's|^/||')
  for f in $expected; do
    grep -qx "$f" <<<"$rpm_contents" || { echo "package-check: $rpm_pkg lacks $f" >&2; fail=1; }
  done
  rpm -qp --scripts "$rpm_pkg" 2>/dev/null | grep -q 'udevadm control --reload-rules' \
    || { echo "package-check: $rpm_pkg does not reload udev" >&2; fail=1; }
  requires=$(rpm -qp --requires "$rpm_pkg" 2>/dev/null)
  for d in 'libwebkit2gtk-4.1.so.0' libusb1 dbus-libs; do
    grep -q "$d" <<<"$requires" || { echo "package-check: $rpm_pkg does not require $d" >&2; fail=1; }
  done
fi
depends=$(dpkg-deb -f "$app" Depends)
for d in libwebkit2gtk-4.1-0 libgtk-3-0 libdbus-1-3; do
  grep -q "$d" <<<"$depends" || { echo "package-check: Depends lacks $d: $depends" >&2; fail=1; }
done
# Every shared library the programs load comes from a declared dependency (or one of
# theirs): a library only the build machine has would fail on a venue's PC.
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb -x "$app" "$unpacked"
deps=$(tr ',' '\n' <<<"$depends" | sed 's/(.*)//; s/ //g' | grep -v '^$')
closure=$( (echo "$deps"; apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances $deps 2>/dev/null | grep -v '^ ' | grep -v '^<') | sort -u)
for bin in "$unpacked/usr/bin/tresen-app" "$unpacked/usr/bin/tresen"; do
  for lib in $(objdump -p "$bin" | awk '/NEEDED/ {print $2}'); do
    owner=$(dpkg -S "*/$lib" 2>/dev/null | head -1 | cut -d: -f1)
    case "$owner" in libc6 | libgcc-s1 | "") continue ;; esac
    grep -qx "$owner" <<<"$closure" \
      || { echo "package-check: $(basename "$bin") needs $lib ($owner), which Depends does not bring" >&2; fail=1; }
  done
done
for s in postinst postrm; do
  dpkg-deb --ctrl-tarfile "$app" | tar -t | sed 's|^\./||' | grep -qx "$s" \
    || { echo "package-check: no $s" >&2; fail=1; }
done
desktop=$(dpkg-deb --fsys-tarfile "$app" | tar -xO --wildcards '*usr/share/applications/Tresen.desktop')
grep -q '^Name=Tresen$' <<<"$desktop" && grep -q '^GenericName\[de\]=' <<<"$desktop" \
  || { echo "package-check: desktop entry lacks its names: $desktop" >&2; fail=1; }
paths "$office" | grep -qx usr/bin/health-office \
  || { echo "package-check: $office lacks health-office" >&2; fail=1; }
if grep -q 'health-office' <<<"$contents"; then
  echo "package-check: the venue package carries health-office" >&2
  fail=1
fi
[ "$fail" = 0 ] && echo "package-check: $(basename "$app"), $(basename "$office")${rpm_pkg:+ and $(basename "$rpm_pkg")} hold what they should"
exit "$fail"
