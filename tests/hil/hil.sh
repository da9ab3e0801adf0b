#!/usr/bin/env bash
# Hardware in the loop: boots Debian's kernel in QEMU (software emulation) with a busybox
# initramfs holding the `tresen` and `scanner-sim` binaries, and runs the scanner scenarios
# of tests/hil/guest/scenarios.sh against real USB gadget devices on the guest's own USB
# bus (dummy_hcd + configfs gadgets). Prints one line per scenario; exits 0 only if every
# scenario passed. Never skips: without QEMU, busybox or the kernel package it fails.
#
#   tests/hil/hil.sh BIN_DIR        (BIN_DIR holds the built tresen, scanner-sim, health-office)
#
# The kernel package and its unpacked modules are cached in $TRESEN_HIL_CACHE
# (default ~/.cache/tresen-hil).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: tests/hil/hil.sh BIN_DIR}
bin=$(cd "$bin" && pwd)
cache=${TRESEN_HIL_CACHE:-$HOME/.cache/tresen-hil}
timeout_s=${TRESEN_HIL_TIMEOUT:-300}

fail() { echo "hil: $*" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is missing (Debian: qemu-system-x86); run scripts/setup-system.sh"
[ -x /bin/busybox ] && file -L /bin/busybox | grep -q "statically linked" \
  || fail "a static busybox is missing (Debian: busybox-static); run scripts/setup-system.sh"
for b in tresen scanner-sim health-office; do
  [ -x "$bin/$b" ] || fail "$bin/$b is missing: build the workspace first (scripts/hil.sh does)"
done

# ----- the kernel, cached -----
mkdir -p "$cache"
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || fail "apt does not name Debian's kernel package (linux-image-amd64)"
kdir="$cache/$kpkg"
if [ ! -d "$kdir/lib/modules" ]; then
  echo "hil: fetching $kpkg (once; cached in $cache)" >&2
  (cd "$cache" && rm -f "${kpkg}"_*.deb && apt-get download -q "$kpkg" >/dev/null) \
    || fail "could not download $kpkg with apt-get"
  rm -rf "$kdir.part" && mkdir -p "$kdir.part"
  dpkg-deb -x "$cache/${kpkg}"_*.deb "$kdir.part"
  rm -f "$cache/${kpkg}"_*.deb
  mv "$kdir.part" "$kdir"
fi
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -1)
# udevadm, to test the project's udev rule against the real device (Debian's udev
# package, unpacked, not installed on this machine).
upkg="$cache/udev"
if [ ! -x "$upkg/bin/udevadm" ]; then
  (cd "$cache" && rm -f udev_*.deb && apt-get download -q udev >/dev/null) \
    || fail "could not download the udev package with apt-get"
  rm -rf "$upkg.part" && mkdir -p "$upkg.part"
  dpkg-deb -x "$cache"/udev_*.deb "$upkg.part"
  rm -f "$cache"/udev_*.deb
  mv "$upkg.part" "$upkg"
fi
moddir=$(ls -d "$kdir"/lib/modules/* | head -1)

# ----- the venue, made on the host with the same tools a user has -----
work=$(mktemp -d /tmp/tresen-hil.XXXXXX)
trap 'rm -rf "$work"' EXIT
host="$work/host"
mkdir -p "$host"
pass="correct horse battery staple tresen"
printf '%s\n' "$pass" > "$host/pass"
(
  cd "$host"
  "$bin/health-office" authority init --dir auth --name "Gesundheitsamt Mitte" --passphrase-file pass >/dev/null
  root=$("$bin/health-office" authority show --dir auth | sed -n 's/^root fingerprint: //p')
  t() { "$bin/tresen" --data-dir data "$@"; }
  t venue init --name "Café Mönch" --address "Hauptstraße 1, Berlin" --trust auth/trust.json \
    --expect-root "$root" --key-file venue.age --secret-store file --passphrase-file pass >/dev/null
  t area add Terrasse --location "Filiale 1" --tables 1-4 >/dev/null
  t area add Bar --location "Filiale 1" >/dev/null
  t settings set double-read-seconds 0 >/dev/null
  for i in $(seq 1 18); do
    printf '{"name":"Gast %s","street":"Weg %s","postcode":"10115","city":"Berlin","phone":"030 12345%02d"}\n' "$i" "$i" "$i"
  done | t guest code > codes.txt
  t area code Bar > bar.txt
  t table code Terrasse 2 > table.txt
) || fail "could not set up the test venue with the tresen tool"
[ "$(wc -l < "$host/codes.txt")" -eq 18 ] || fail "expected 18 guest codes"

# ----- the initramfs -----
root="$work/root"
mkdir -p "$root"/{bin,sbin,lib,lib64,etc,proc,sys,dev,tmp,data,hil,mods,home/counter}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
for m in fs/configfs/configfs drivers/usb/common/usb-common drivers/usb/core/usbcore \
  drivers/usb/gadget/udc/udc-core drivers/usb/gadget/udc/dummy_hcd \
  drivers/usb/gadget/libcomposite drivers/usb/gadget/function/usb_f_hid \
  drivers/usb/gadget/function/u_serial drivers/usb/gadget/function/usb_f_acm \
  drivers/usb/class/cdc-acm drivers/hid/hid drivers/hid/usbhid/usbhid; do
  f="$moddir/kernel/$m.ko"
  [ -f "$f" ] || f=$(ls "$f".* 2>/dev/null | head -1 || true)
  [ -n "$f" ] && [ -f "$f" ] || fail "kernel module $m is missing from $kpkg"
  case "$f" in
    *.xz) xz -dc "$f" > "$root/mods/$(basename "$m").ko" ;;
    *.zst) zstd -qdc "$f" > "$root/mods/$(basename "$m").ko" ;;
    *) cp "$f" "$root/mods/$(basename "$m").ko" ;;
  esac
done
copy_bin() {
  strip -o "$root/bin/$1" "${2:-$bin}/$1"
  ldd "${2:-$bin}/$1" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
copy_bin tresen
copy_bin scanner-sim
rm -f "$root/bin/udevadm"
copy_bin udevadm "$upkg/bin"
mkdir -p "$root/etc/udev/rules.d" "$root/run/udev"
cp -a "$host/data/." "$root/data/"
cp "$host/codes.txt" "$host/bar.txt" "$host/table.txt" "$root/hil/"
# Report descriptors as real scanners have them: a boot keyboard, and a HID point-of-sale
# scanner (usage page 0x8C, report id 2, 63 bytes).
printf '\x05\x01\x09\x06\xa1\x01\x05\x07\x19\xe0\x29\xe7\x15\x00\x25\x01\x75\x01\x95\x08\x81\x02\x95\x01\x75\x08\x81\x03\x95\x05\x75\x01\x05\x08\x19\x01\x29\x05\x91\x02\x95\x01\x75\x03\x91\x03\x95\x06\x75\x08\x15\x00\x25\x65\x05\x07\x19\x00\x29\x65\x81\x00\xc0' > "$root/hil/keyboard.desc"
printf '\x06\x8c\x00\x09\x02\xa1\x01\x85\x02\x15\x00\x26\xff\x00\x75\x08\x95\x3f\x09\xfe\x81\x02\xc0' > "$root/hil/pos.desc"
cp "$here/guest/init" "$root/init"
cp "$here/guest/scenarios.sh" "$root/hil/scenarios.sh"
cp "$here/../../assets/udev/70-tresen-scanners.rules" "$root/hil/"
cp "$here/../../assets/udev/70-tresen-scanners.rules" "$root/etc/udev/rules.d/"
chmod +x "$root/init" "$root/hil/scenarios.sh"
# TRESEN_HIL_ONLY="kbd-de …": run only these, traced on the console (for debugging).
if [ -n "${TRESEN_HIL_ONLY:-}" ]; then printf '%s\n' $TRESEN_HIL_ONLY > "$root/hil/only"; fi
printf 'root:x:0:0:root:/root:/bin/sh\ncounter:x:1000:1000:counter:/home/counter:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nplugdev:x:46:\ncounter:x:1000:\n' > "$root/etc/group"
(cd "$root" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$work/initrd.gz")

# ----- boot and run -----
log="$work/console.log"
set +e
timeout "$timeout_s" qemu-system-x86_64 -accel tcg -m 1024 -smp 1 \
  -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 quiet loglevel=4 panic=-1" \
  -nographic -no-reboot -monitor none -serial stdio > "$log" 2>&1
qemu=$?
set -e
cp "$log" "${TRESEN_HIL_LOG:-/tmp/tresen-hil-console.log}"
# The console may put terminal escapes before the first line.
results=$(tr -d '\r' < "$log" | grep -oE 'HIL [a-z0-9-]+ (PASS|FAIL).*' | sed 's/^HIL //' || true)
[ -n "$results" ] && printf '%s\n' "$results"
passed=$(printf '%s\n' "$results" | grep -cE '^[a-z0-9-]+ PASS' || true)
failed=$(printf '%s\n' "$results" | grep -cE '^[a-z0-9-]+ FAIL' || true)
want=$(grep -cE '^scenario ' "$here/guest/scenarios.sh")
if [ "$qemu" -ne 0 ] || [ "$passed" -ne "$want" ] || [ "$failed" -ne 0 ]; then
  echo "hil: $passed of $want scenarios passed (qemu exit $qemu); the guest's console (all of it: ${TRESEN_HIL_LOG:-/tmp/tresen-hil-console.log}):" >&2
  tr -d '\r' < "$log" | tail -60 >&2
  exit 1
fi
echo "hil: all $want scenarios passed"
