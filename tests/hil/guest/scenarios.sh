#!/bin/sh
# Scanner scenarios on real USB gadget devices. Each `scenario NAME` line runs s_NAME and
# prints "HIL NAME PASS|FAIL detail" (tests/hil/hil.sh counts these lines).
G=/sys/kernel/config/usb_gadget
D="--data-dir /data"
code() { sed -n "${1}p" /hil/codes.txt; }
now_ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }

# gadget NAME PID SERIAL: a device of vendor 0c2e (Honeywell) with one configuration.
gadget() {
  mkdir -p $G/$1/strings/0x409 $G/$1/configs/c.1
  echo 0x0c2e > $G/$1/idVendor
  echo "$2" > $G/$1/idProduct
  echo "$3" > $G/$1/strings/0x409/serialnumber
  echo "Tresen HIL" > $G/$1/strings/0x409/manufacturer
  echo "Scanner $1" > $G/$1/strings/0x409/product
  echo 100 > $G/$1/configs/c.1/MaxPower
}
# hid NAME FUNC keyboard|pos
hid() {
  f=$G/$1/functions/hid.$2
  mkdir -p $f
  if [ "$3" = keyboard ]; then
    echo 1 > $f/protocol; echo 1 > $f/subclass; echo 8 > $f/report_length
    cat /hil/keyboard.desc > $f/report_desc
  else
    echo 0 > $f/protocol; echo 0 > $f/subclass; echo 64 > $f/report_length
    cat /hil/pos.desc > $f/report_desc
  fi
  ln -s $f $G/$1/configs/c.1/
}
acm() {
  mkdir -p $G/$1/functions/acm.$2
  ln -s $G/$1/functions/acm.$2 $G/$1/configs/c.1/
}
plug() { echo "${2:-dummy_udc.0}" > $G/$1/UDC; }
unplug() { echo "" > $G/$1/UDC 2>/dev/null; }
remove() {
  unplug $1
  for l in $G/$1/configs/c.1/*.*; do [ -L "$l" ] && rm "$l"; done
  rmdir $G/$1/configs/c.1/strings/0x409 2>/dev/null
  rmdir $G/$1/configs/c.1 2>/dev/null
  for f in $G/$1/functions/*; do [ -d "$f" ] && rmdir "$f"; done
  rmdir $G/$1/strings/0x409 2>/dev/null
  rmdir $G/$1
}
# wait_for FILE PATTERN COUNT SECONDS
wait_for() {
  i=0
  while [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
    i=$((i + 1))
    [ $i -gt $(($4 * 10)) ] && return 1
    sleep 0.1
  done
}
# scan ARGS…: tresen scan in the background, output in /tmp/scan.out
scan() {
  : > /tmp/scan.out
  tresen $D scan --area Terrasse "$@" > /tmp/scan.out 2>&1 &
  SCAN=$!
}
stop_scan() { kill $SCAN 2>/dev/null; wait $SCAN 2>/dev/null; }
hidg_of() { echo /dev/hidg$(cat $G/$1/functions/hid.$2/dev | cut -d: -f2); }
# check NAME: the scan output must show WANT checked-in lines and no panic.
expect() {
  n=$(grep -c "$1" /tmp/scan.out)
  [ "$n" -eq "$2" ] || { echo "want $2 x '$1', got $n: $(tail -c 600 /tmp/scan.out)"; return 1; }
}

s_kbd_us() {
  gadget kbd 0x0b61 HIL-KBD-US; hid kbd usb0 keyboard; plug kbd
  scan --usb 0c2e:0b61 --layout us
  wait_for /tmp/scan.out ": connected" 1 30 || { echo "not connected: $(cat /tmp/scan.out) $(dmesg | tail -5)"; return 1; }
  { code 1; cat /hil/table.txt; } | timeout 60 scanner-sim --hidg $(hidg_of kbd usb0) --layout us --interval-ms 2 2>/dev/null
  wait_for /tmp/scan.out table-assigned 1 20
  stop_scan; remove kbd
  expect checked-in 1 && expect table-assigned 1 && expect refused 0
}

s_kbd_de() {
  gadget kbd 0x0b61 HIL-KBD-DE; hid kbd usb0 keyboard; plug kbd
  scan --usb 0c2e:0b61 --layout de
  wait_for /tmp/scan.out ": connected" 1 30 || { echo "not connected: $(cat /tmp/scan.out) $(dmesg | tail -5)"; return 1; }
  { code 2; cat /hil/table.txt; cat /hil/bar.txt; } | timeout 60 scanner-sim --hidg $(hidg_of kbd usb0) --layout de --interval-ms 10 2>/dev/null
  wait_for /tmp/scan.out area-selected 1 30
  stop_scan; remove kbd
  expect checked-in 1 && expect table-assigned 1 && expect "area-selected.*Bar" 1 && expect refused 0
}

s_pos_split() {
  gadget pos 0x0b62 HIL-POS; hid pos usb0 pos; plug pos
  scan --usb 0c2e:0b62
  wait_for /tmp/scan.out ": connected" 1 30 || { echo "not connected: $(cat /tmp/scan.out) $(dmesg | tail -5)"; return 1; }
  long=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "%c", 65 + i % 26 }')
  { code 3; echo "$long"; } | timeout 60 scanner-sim --hidg $(hidg_of pos usb0) --reports pos --aim "]Q1" --interval-ms 2 2>/dev/null
  wait_for /tmp/scan.out refused 1 20
  sleep 1
  stop_scan; remove pos
  expect checked-in 1 && expect refused 1
}

s_acm_replug() {
  gadget acm 0x0b63 HIL-ACM-1; acm acm usb0; plug acm
  i=0; while [ ! -e /dev/ttyACM0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  scan --serial /dev/ttyACM0@115200
  wait_for /tmp/scan.out ": connected" 1 30 || { echo "not connected: $(cat /tmp/scan.out) $(dmesg | tail -5)"; return 1; }
  stty -F /dev/ttyGS0 raw -echo
  printf '%s\r' "$(code 4)" > /dev/ttyGS0
  wait_for /tmp/scan.out checked-in 1 10 || { echo "first scan: $(cat /tmp/scan.out)"; return 1; }
  unplug acm
  sleep 1
  plug acm
  t0=$(now_ms)
  i=0; while [ ! -e /dev/ttyGS0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  stty -F /dev/ttyGS0 raw -echo
  wait_for /tmp/scan.out ": connected" 2 30 || { echo "not back: $(cat /tmp/scan.out)"; return 1; }
  back=$(( $(now_ms) - t0 ))
  printf '%s\r' "$(code 5)" > /dev/ttyGS0
  wait_for /tmp/scan.out checked-in 2 10
  stop_scan; remove acm
  [ "$back" -le 2000 ] || { echo "resumed after $back ms"; return 1; }
  expect checked-in 2 && echo "resumed $back ms after the plug"
}

s_no_access() {
  gadget kbd 0x0b61 HIL-KBD-PERM; hid kbd usb0 keyboard; plug kbd
  sleep 0.5
  node=
  for d in /sys/bus/usb/devices/*; do
    if [ "$(cat $d/idVendor 2>/dev/null)" = 0c2e ]; then
      node=$(printf '/dev/bus/usb/%03d/%03d' "$(cat $d/busnum)" "$(cat $d/devnum)")
    fi
  done
  [ -e "$node" ] || { echo "no device node for the scanner"; remove kbd; return 1; }
  chown root:root $node; chmod 0600 $node
  mkdir -p /home/counter/data && cp -a /data/. /home/counter/data/ && chown -R counter:counter /home/counter
  out=$(su -s /bin/sh -c "tresen --data-dir /home/counter/data scanner list" counter 2>&1)
  echo "$out" | grep -q "70-tresen-scanners.rules" || { echo "no advice: $out"; remove kbd; return 1; }
  # The project's rule, run by udev against this very device: its group and mode are
  # what the device node gets.
  sysdev=$(dirname "$(grep -l 0c2e /sys/bus/usb/devices/*/idVendor | head -1)")
  udevadm test --action=add "$sysdev" > /tmp/udev.out 2>&1
  group=$(sed -n 's/.*70-tresen-scanners.rules:[0-9]* GROUP \([0-9]*\).*/\1/p' /tmp/udev.out | tail -1)
  mode=$(sed -n 's/.*70-tresen-scanners.rules:[0-9]* MODE \([0-7]*\).*/\1/p' /tmp/udev.out | tail -1)
  grep -q "70-tresen-scanners.rules:[0-9]* .*uaccess\|TAG.*uaccess" /tmp/udev.out || { echo "the rule gave no uaccess tag: $(grep -i tresen /tmp/udev.out | tail -3)"; remove kbd; return 1; }
  [ "$group" = 46 ] && [ "$mode" = 0660 ] || { echo "the rule did not match: group '$group' mode '$mode' $(grep -i tresen /tmp/udev.out | tail -3)"; remove kbd; return 1; }
  sed -i 's/^plugdev:x:46:$/plugdev:x:46:counter/' /etc/group
  chgrp $group $node; chmod $mode $node
  : > /tmp/scan.out
  su -s /bin/sh -c "tresen --data-dir /home/counter/data scan --area Terrasse --usb 0c2e:0b61 --layout us" counter > /tmp/scan.out 2>&1 &
  SCAN=$!
  wait_for /tmp/scan.out ": connected" 1 30 || { echo "not connected: $(cat /tmp/scan.out)"; remove kbd; return 1; }
  code 6 | timeout 60 scanner-sim --hidg $(hidg_of kbd usb0) --layout us 2>/dev/null
  wait_for /tmp/scan.out checked-in 1 20
  kill $SCAN 2>/dev/null; killall tresen 2>/dev/null; wait $SCAN 2>/dev/null
  remove kbd
  expect checked-in 1
}

s_two_scanners() {
  gadget kbd 0x0b61 HIL-KBD-2; hid kbd usb0 keyboard; plug kbd dummy_udc.0
  gadget pos 0x0b62 HIL-POS-2; hid pos usb1 pos; plug pos dummy_udc.1
  scan --usb 0c2e:0b61 --usb 0c2e:0b62 --layout us
  wait_for /tmp/scan.out ": connected" 2 30 || { echo "not connected: $(cat /tmp/scan.out)"; return 1; }
  code 7 | timeout 60 scanner-sim --hidg $(hidg_of kbd usb0) --layout us 2>/dev/null &
  a=$!
  code 8 | timeout 60 scanner-sim --hidg $(hidg_of pos usb1) --reports pos 2>/dev/null
  wait $a
  wait_for /tmp/scan.out checked-in 2 20
  stop_scan; remove kbd; remove pos
  expect checked-in 2 && expect refused 0
}

s_unplug_mid_report() {
  gadget kbd 0x0b61 HIL-KBD-CUT; hid kbd usb0 keyboard; plug kbd
  scan --usb 0c2e:0b61 --layout us
  wait_for /tmp/scan.out ": connected" 1 30 || { echo "not connected: $(cat /tmp/scan.out) $(dmesg | tail -5)"; return 1; }
  code 9 | timeout 60 scanner-sim --hidg $(hidg_of kbd usb0) --layout us --cut-after 120 2>/dev/null
  unplug kbd
  sleep 1
  plug kbd
  wait_for /tmp/scan.out ": connected" 2 30 || { echo "not back: $(cat /tmp/scan.out)"; return 1; }
  code 10 | timeout 60 scanner-sim --hidg $(hidg_of kbd usb0) --layout us 2>/dev/null
  wait_for /tmp/scan.out checked-in 1 20
  sleep 0.5
  stop_scan; remove kbd
  expect checked-in 1 && expect refused 0
}

s_garbage_flood() {
  gadget pos 0x0b62 HIL-POS-FLOOD; hid pos usb0 pos; plug pos
  scan --usb 0c2e:0b62
  wait_for /tmp/scan.out ": connected" 1 30 || { echo "not connected: $(cat /tmp/scan.out) $(dmesg | tail -5)"; return 1; }
  flood=$(awk 'BEGIN { for (i = 0; i < 6000; i++) printf "%c", 33 + i % 90 }')
  { echo "$flood"; code 11; } | timeout 60 scanner-sim --hidg $(hidg_of pos usb0) --reports pos --interval-ms 1 2>/dev/null
  wait_for /tmp/scan.out checked-in 1 30
  kill -0 $SCAN || { echo "tresen scan died: $(tail -c 600 /tmp/scan.out)"; return 1; }
  stop_scan; remove pos
  expect checked-in 1
}

wait_node() { i=0; while [ ! -e "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; [ -e "$1" ]; }
gs_of() { echo /dev/ttyGS$(cat $G/$1/functions/acm.$2/port_num); }

# The scanner's path changes while it is away (another device took ttyACM0): it is found
# again by its USB serial number, and the other device is never read.
s_acm_serial_number() {
  gadget acma 0x0b63 HIL-ACM-A; acm acma usb0; plug acma dummy_udc.0
  wait_node /dev/ttyACM0 || { echo "no ttyACM0"; return 1; }
  scan --serial /dev/ttyACM0@115200
  wait_for /tmp/scan.out ": connected" 1 30 || { echo "not connected: $(cat /tmp/scan.out)"; return 1; }
  a=$(gs_of acma usb0); stty -F $a raw -echo
  printf '%s\r' "$(code 12)" > $a
  wait_for /tmp/scan.out checked-in 1 10 || { echo "first scan: $(cat /tmp/scan.out)"; return 1; }
  unplug acma
  sleep 1
  gadget acmb 0x0b64 HIL-ACM-B; acm acmb usb1; plug acmb dummy_udc.1
  wait_node /dev/ttyACM0 || { echo "the other device did not come"; return 1; }
  b=$(gs_of acmb usb1); stty -F $b raw -echo
  sleep 1.5
  [ "$(grep -c ": connected" /tmp/scan.out)" -eq 1 ] || { echo "opened the other device: $(cat /tmp/scan.out)"; return 1; }
  plug acma dummy_udc.0
  wait_node /dev/ttyACM1 || { echo "the scanner came back elsewhere: $(ls /dev/ttyACM*)"; return 1; }
  wait_for /tmp/scan.out ": connected" 2 30 || { echo "not found again: $(cat /tmp/scan.out)"; return 1; }
  printf 'not from the scanner\r' > $b
  printf '%s\r' "$(code 13)" > $a
  wait_for /tmp/scan.out checked-in 2 10
  sleep 0.5
  stop_scan; remove acma; remove acmb
  expect checked-in 2 && expect refused 0 && echo "found again at /dev/ttyACM1 by its serial number"
}

# How long a guest waits, per path: for N scans, the time from the scan's last report (or
# byte) to its durable record as `tresen scan --timings` sees it (p50, p99), the whole scan
# from the scanner's first report, and the wire time the device itself needs. Under
# software emulation these are upper bounds of what real hardware does.
percentile() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; printf "%.2f", v[i] }'; }
# measure NAME N "command that sends code $1"
measure() {
  name=$1; n=$2; send=$3
  : > /tmp/whole.txt
  for i in $(seq 1 $n); do
    before=$(grep -c "took=" /tmp/scan.out)
    t0=$(now_ms)
    eval "$send" || return 1
    wait_for /tmp/scan.out "took=" $((before + 1)) 30 || { echo "$name: no result"; return 1; }
    echo $(( $(now_ms) - t0 )) >> /tmp/whole.txt
  done
  grep -o "took=[0-9.]*" /tmp/scan.out | tail -$n | cut -d= -f2 > /tmp/took.txt
  echo "$name: last report to durable p50 $(percentile 50 < /tmp/took.txt) ms, p99 $(percentile 99 < /tmp/took.txt) ms; whole scan p50 $(percentile 50 < /tmp/whole.txt) ms"
}
s_timings() {
  gadget kbd 0x0b61 HIL-KBD-T; hid kbd usb0 keyboard; plug kbd dummy_udc.0
  gadget acm 0x0b63 HIL-ACM-T; acm acm usb1; plug acm dummy_udc.1
  wait_node /dev/ttyACM0 || { echo "no ttyACM0"; return 1; }
  : > /tmp/scan.out
  tresen $D scan --area Terrasse --timings --usb 0c2e:0b61 --layout us --serial /dev/ttyACM0@115200 > /tmp/scan.out 2>&1 &
  SCAN=$!
  wait_for /tmp/scan.out ": connected" 2 30 || { echo "not connected: $(cat /tmp/scan.out)"; return 1; }
  h=$(hidg_of kbd usb0); g=$(gs_of acm usb1); stty -F $g raw -echo
  reports=$(( $(code 14 | wc -c) * 2 ))
  measure "keyboard, 2 ms a report (wire $((reports * 2)) ms)" 10 "code 14 | scanner-sim --hidg $h --interval-ms 2 2>/dev/null" > /tmp/t1 || { cat /tmp/t1; return 1; }
  measure "keyboard, 10 ms a report (wire $((reports * 10)) ms)" 3 "code 15 | scanner-sim --hidg $h --interval-ms 10 2>/dev/null" > /tmp/t2 || { cat /tmp/t2; return 1; }
  wire=$(( ($(code 16 | wc -c) * 10 * 1000 + 115199) / 115200 ))
  measure "USB-CDC at 115200 baud (wire $wire ms)" 20 "printf '%s\\r' \"\$(code 16)\" > $g" > /tmp/t3 || { cat /tmp/t3; return 1; }
  stop_scan; remove kbd; remove acm
  gadget pos 0x0b62 HIL-POS-T; hid pos usb0 pos; plug pos
  : > /tmp/scan.out
  tresen $D scan --area Terrasse --timings --usb 0c2e:0b62 > /tmp/scan.out 2>&1 &
  SCAN=$!
  wait_for /tmp/scan.out ": connected" 1 30 || { echo "not connected: $(cat /tmp/scan.out)"; return 1; }
  measure "point-of-sale, 5 reports at 1 ms" 20 "code 17 | scanner-sim --hidg $(hidg_of pos usb0) --reports pos --interval-ms 1 2>/dev/null" > /tmp/t4 || { cat /tmp/t4; return 1; }
  stop_scan; remove pos
  cat /tmp/t1 /tmp/t2 /tmp/t3 /tmp/t4 | tr '\n' '|' | sed 's/|$//; s/|/ | /g'; echo
}

scenario() {
  fn=s_$(echo "$1" | tr - _)
  if [ -f /hil/only ] && ! grep -qx "$1" /hil/only; then
    echo "HIL $1 PASS skipped"
    return
  fi
  if [ -f /hil/only ]; then
    PS4="+ \$(cut -d\" \" -f1 /proc/uptime) "; set -x
    if $fn; then echo "HIL $1 PASS traced"; else echo "HIL $1 FAIL traced"; fi
    set +x
    dmesg | tail -15
    cat /tmp/scan.out
    set +x
    return
  fi
  if detail=$($fn 2>&1); then
    echo "HIL $1 PASS $(echo "$detail" | tail -1)"
  else
    echo "HIL $1 FAIL $(echo "$detail" | tail -3 | tr '\n' ' ')"
  fi
  killall tresen scanner-sim 2>/dev/null
  sleep 0.2
  # Whatever a failed scenario left plugged in goes, so the next one has both UDCs.
  for g in $G/*; do [ -d "$g" ] && remove "$(basename "$g")"; done
  true
}

scenario kbd-us
scenario kbd-de
scenario pos-split
scenario acm-replug
scenario acm-serial-number
scenario no-access
scenario two-scanners
scenario unplug-mid-report
scenario garbage-flood
scenario timings
