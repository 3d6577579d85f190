#!/usr/bin/env bash
# Run a command as on a machine with Node alone: in a private mount namespace, Chromium
# (/usr/bin/chromium, /usr/lib/chromium), Python (python3*, so PyTorch too), the full Fashion-MNIST
# (/usr/share/datasets) and the libraries Chromium links against (NSS, NSPR, expat) are hidden;
# PATH is cut to the system folders. The rest of the machine is as it is. Needs root (mounts).
#   bash tools/bare-node.sh npm test
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "tools/bare-node.sh: needs root (it hides files with mounts in a private namespace)" >&2
  exit 2
fi
if [ $# = 0 ]; then
  echo "tools/bare-node.sh: give the command to run, e.g. tools/bare-node.sh npm test" >&2
  exit 2
fi
stage=$(mktemp -d /tmp/bare-node.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/bin" "$stage/tmp"
# Like /tmp: tests that drop privileges (setpriv to nobody) reach their temporary folders.
chmod 755 "$stage"
chmod 1777 "$stage/tmp"
status=0
STAGE="$stage" unshare --mount --propagation private bash -c '
  set -euo pipefail
  stage=$STAGE/bin
  # Hard links (same file system): a copy of /usr/bin without Chromium and Python, made in no time.
  cp -al /usr/bin/. "$stage/"
  rm -f "$stage"/chromium* "$stage"/python*
  mount --bind "$stage" /usr/bin
  for d in /usr/lib/chromium /usr/share/datasets; do
    if [ -d "$d" ]; then mount -t tmpfs -o size=1m,mode=755 tmpfs "$d"; fi
  done
  for lib in /usr/lib/x86_64-linux-gnu/libnss3.so /usr/lib/x86_64-linux-gnu/libnspr4.so /usr/lib/x86_64-linux-gnu/libexpat.so.1.*; do
    if [ -f "$lib" ]; then mount --bind /dev/null "$lib"; fi
  done
  export PATH=/usr/local/bin:/usr/bin:/bin
  export TMPDIR=$STAGE/tmp
  unset STAGE
  exec "$@"
' bash "$@" || status=$?
exit "$status"
