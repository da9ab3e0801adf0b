#!/bin/sh
# The scanner rule is gone: udev forgets it. The venue's data in the users' home folders
# is left alone (it is theirs, and the retention period still applies to it).
set -e
if command -v udevadm >/dev/null 2>&1; then
  udevadm control --reload-rules || true
  udevadm trigger --subsystem-match=usb --action=change || true
fi
exit 0
