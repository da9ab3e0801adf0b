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
  { code 2; cat /hil/table.txt; } | timeout 60 scanner-sim --hidg $(hidg_of kbd usb0) --layout de --interval-ms 10 2>/dev/null
  wait_for /tmp/scan.out table-assigned 1 30
  stop_scan; remove kbd
  expect checked-in 1 && expect table-assigned 1 && expect refused 0
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
  # The rule's effect: group plugdev, mode 0660, the counter user in plugdev.
  grep -q 'GROUP="plugdev"' /hil/70-tresen-scanners.rules || { echo "rule changed"; remove kbd; return 1; }
  sed -i 's/^plugdev:x:46:$/plugdev:x:46:counter/' /etc/group
  chgrp 46 $node; chmod 0660 $node
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
scenario no-access
scenario two-scanners
scenario unplug-mid-report
scenario garbage-flood
