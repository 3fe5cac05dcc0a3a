#!/usr/bin/env bash
# The report's browser tests drive Debian's chromium (playwright cannot download its own browsers here), so the
# test command installs it on a fresh machine. Quiet when it is already there.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-chromium: /usr/bin/chromium is missing; install Debian's chromium (apt-get install chromium) as root" >&2
  exit 1
fi
echo "ensure-chromium: installing Debian's chromium for the report tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x /usr/bin/chromium ] || { echo "ensure-chromium: apt-get installed no /usr/bin/chromium" >&2; exit 1; }
