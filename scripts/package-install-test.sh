#!/usr/bin/env bash
# Installs the built package on a fresh Debian 12 (debootstrap, from the package source
# apt uses on this machine), the way a venue would: `apt-get install ./tresen_….deb`
# resolves the declared dependencies for real. Then: `tresen --version`, `man tresen`,
# the udev rule and the desktop entry in place, a venue set up by the `tresen` command,
# the installed app started under Xvfb in demo mode with a screenshot
# (docs/install-demo.png), and the package removed with the user's data still there.
# With --upgrade-from OLD.deb, the older package is installed first and a venue with
# check-ins is made with it; installing the new package over it must keep every one.
# Needs root (chroot, mounts). Takes several minutes; not part of every CI run.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(realpath "$1")
old=""
if [ "${2:-}" = "--upgrade-from" ]; then old=$(realpath "$3"); fi
[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap and chroot need it)" >&2; exit 2; }
command -v debootstrap >/dev/null || apt-get install -y --no-install-recommends debootstrap
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-$(awk '$1=="deb" && $2 ~ /debian$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)}
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d /var/tmp/tresen-chroot.XXXXXX)
chmod 755 "$root"
cleanup() {
  for m in dev/pts dev proc sys; do umount -l "$root/$m" 2>/dev/null || true; done
  rm -rf "$root"
}
trap cleanup EXIT
echo "== debootstrap bookworm from $mirror into $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp "$deb" "$root/tmp/"
[ -z "$old" ] || cp "$old" "$root/tmp/"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
as_user() { chroot "$root" /usr/sbin/runuser -u wirtin -- /usr/bin/env -i PATH=/usr/bin:/bin HOME=/home/wirtin LANG=C.UTF-8 "$@"; }

echo "== the tools the test needs"
in_root apt-get update -q >/dev/null
in_root sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends man-db xvfb xauth x11-apps netpbm" >/dev/null
in_root useradd -m wirtin

# A venue with a location, an area and three check-ins, made with the installed command.
make_venue() {
  ho=${CARGO_TARGET_DIR:-$PWD/target}/release/health-office
  [ -x "$ho" ] || { echo "build the packages first (scripts/package.sh)" >&2; exit 2; }
  work=$(mktemp -d)
  printf 'correct horse battery staple tresen\n' > "$work/pass"
  "$ho" authority init --dir "$work/auth" --name "Gesundheitsamt Test" --passphrase-file "$work/pass" >/dev/null
  root_fp=$("$ho" authority show --dir "$work/auth" | sed -n 's/^root fingerprint: *//p' | head -1)
  install -o 1000 -g 1000 -m 0600 "$work/pass" "$root/home/wirtin/pass"
  install -o 1000 -g 1000 -m 0644 "$work/auth/trust.json" "$root/home/wirtin/trust.json"
  rm -rf "$work"
  as_user tresen venue init --name "Café Mönch" --address "Hauptstraße 1" --trust /home/wirtin/trust.json \
    --expect-root "$root_fp" --key-file /home/wirtin/venue-key.age --secret-store file \
    --passphrase-file /home/wirtin/pass >/dev/null
  as_user tresen area add Terrasse --location "Filiale 1" --tables 1-4 >/dev/null
  for name in "Erika Gabler" "Jonas Weber" "Mia Schulz"; do
    code=$(printf '{"name":"%s","street":"Weg 1","postcode":"10115","city":"Berlin","phone":"030 1234567"}\n' "$name" \
      | as_user tresen guest code)
    as_user tresen checkin --area Terrasse "$code" >/dev/null
  done
}

if [ -n "$old" ]; then
  echo "== the older package first: $(basename "$old")"
  in_root sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/$(basename "$old")" >/dev/null
  in_root tresen --version
  make_venue
  present_before=$(as_user tresen present)
  echo "== upgrade to $(basename "$deb")"
  in_root sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/$(basename "$deb")" >/dev/null
  present_after=$(as_user tresen present)
  [ "$present_before" = "$present_after" ] \
    || { echo "the upgrade changed the check-ins: before: $present_before; after: $present_after" >&2; exit 1; }
  grep -q "3" <<<"$present_after" || { echo "no check-ins after the upgrade: $present_after" >&2; exit 1; }
  echo "every check-in is still there: $present_after"
else
  echo "== apt-get install ./$(basename "$deb")"
  in_root sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/$(basename "$deb")" >/dev/null
  make_venue
fi
as_user tresen status | grep -q "Café Mönch"

echo "== what the package installed"
in_root tresen --version
in_root tresen --version | grep -q "protocol"
in_root man -P cat tresen | grep -q "counter"
test -f "$root/usr/lib/udev/rules.d/70-tresen-scanners.rules"
grep -q "^GenericName\[de\]" "$root/usr/share/applications/Tresen.desktop"
test -x "$root/usr/bin/tresen-app"

echo "== the installed app in demo mode"
as_user sh -c 'xvfb-run -a -s "-screen 0 1280x800x24" sh -c "tresen-app --demo & sleep 12; xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng > /tmp/install-demo.png; kill %1"' || true
cp "$root/tmp/install-demo.png" docs/install-demo.png
test -s docs/install-demo.png

echo "== removing the package keeps the user's data"
in_root apt-get remove -y -q tresen >/dev/null
test ! -e "$root/usr/bin/tresen-app"
data=$(find "$root/home/wirtin/.local/share" -name 'tresen.sqlite3' 2>/dev/null | head -1)
test -n "$data"
echo "package-install-test: passed (screenshot in docs/install-demo.png)"
