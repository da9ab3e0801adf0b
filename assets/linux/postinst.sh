#!/bin/sh
# The scanner rule takes effect for scanners plugged in from now on, and for those
# already plugged in after the trigger.
set -e
if command -v udevadm >/dev/null 2>&1; then
  udevadm control --reload-rules || true
  udevadm trigger --subsystem-match=usb --action=change || true
fi
exit 0
