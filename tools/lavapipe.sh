#!/usr/bin/env bash
# Mesa 25's lavapipe (a software Vulkan driver) for the WebGPU tests, without root and without
# touching the system's apt sources: the packages come from Debian's bookworm-backports (and
# bookworm main for any library the machine lacks) through a private apt configuration, are
# unpacked with `dpkg -x` into .cache/lavapipe/, and an ICD JSON naming the unpacked
# libvulkan_lvp.so by absolute path is written beside them. Debian 12's own lavapipe (Mesa 22) is
# refused by Dawn, hence the backport.
#
# Prints the environment to use, as shell lines (eval "$(bash tools/lavapipe.sh)"):
#   export VK_DRIVER_FILES=<the ICD JSON>
#   export LD_LIBRARY_PATH=<the unpacked libraries>:$LD_LIBRARY_PATH
# Progress goes to stderr. A second run reuses the cache (no network).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${LAVAPIPE_DIR:-$root/.cache/lavapipe}"
apt="$dest/apt"
files="$dest/root"
icd="$dest/lvp_icd.json"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
arch="$(dpkg --print-architecture)"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")"
libdir="$files/usr/lib/$multiarch"

say() { echo "lavapipe: $*" >&2; }
die() {
  echo "lavapipe: $*" >&2
  exit 1
}

for tool in apt-get dpkg ldd; do
  command -v "$tool" >/dev/null || die "needs $tool (a Debian-based system); install lavapipe from bookworm-backports by hand: apt-get install -t bookworm-backports mesa-vulkan-drivers"
done

opts=(
  "-oDir::Etc::SourceList=$apt/sources.list"
  "-oDir::Etc::SourceParts=/dev/null"
  "-oDir::State::Lists=$apt/lists"
  "-oDir::State::Status=$apt/status"
  "-oDir::Cache=$apt/cache"
  "-oAPT::Architecture=$arch"
  "-oDebug::NoLocking=1"
  "-oAPT::Sandbox::User=$(id -un)"
  "-qq"
)

updated=0
apt_update() {
  [ "$updated" = 1 ] && return
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  : >"$apt/status"
  printf 'deb %s bookworm-backports main\ndeb %s bookworm main\n' "$mirror" "$mirror" >"$apt/sources.list"
  say "apt-get update (private lists in $apt)"
  apt-get "${opts[@]}" update >&2 || die "apt-get update failed for $mirror (bookworm, bookworm-backports)"
  updated=1
}

# Downloads the named packages (name or name/suite) and unpacks them into $files.
fetch() {
  apt_update
  local work="$apt/debs"
  rm -rf "$work"
  mkdir -p "$work" "$files"
  say "downloading $*"
  (cd "$work" && apt-get "${opts[@]}" download "$@" >&2) || die "apt-get download $* failed"
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$files"; done
  rm -rf "$work"
}

# The Debian package that ships a shared library, by Debian's naming rule (libfoo.so.N → libfooN,
# libfoo2.so.N → libfoo2-N), with the exceptions that rule misses.
package_of() {
  local so="$1"
  case "$so" in
  libz.so.*) echo zlib1g ;;
  libLLVM-*.so*) local v="${so#libLLVM-}" && echo "libllvm${v%%[.]*}" ;;
  libLLVM.so.*) local v="${so#libLLVM.so.}" && echo "libllvm${v%%[.]*}" ;;
  libstdc++.so.*) echo libstdc++6 ;;
  libgcc_s.so.*) echo libgcc-s1 ;;
  libxml2.so.*) echo libxml2 ;;
  libicu*.so.*) echo "libicu${so##*.so.}" ;;
  *.so.*)
    local stem="${so%%.so.*}" ver="${so##*.so.}"
    ver="${ver%%.*}"
    stem="$(echo "$stem" | tr 'A-Z_' 'a-z-')"
    case "$stem" in *[0-9]) echo "$stem-$ver" ;; *) echo "$stem$ver" ;; esac
    ;;
  *) return 1 ;;
  esac
}

# Libraries that neither the system nor $libdir provides, for the driver and the Vulkan loader.
missing() {
  {
    LD_LIBRARY_PATH="$libdir" ldd "$libdir/libvulkan_lvp.so" | awk '/not found/ { print $1 }'
    if [ ! -e "$libdir/libvulkan.so.1" ] && ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
      [ -e "/usr/lib/$multiarch/libvulkan.so.1" ] || echo libvulkan.so.1
    fi
    if [ -e "$libdir/libvulkan.so.1" ]; then
      LD_LIBRARY_PATH="$libdir" ldd "$libdir/libvulkan.so.1" | awk '/not found/ { print $1 }'
    fi
  } | sort -u
}

if [ ! -f "$icd" ] || [ ! -f "$libdir/libvulkan_lvp.so" ]; then
  rm -rf "$files"
  fetch mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports libdrm-common/bookworm-backports
  [ -f "$libdir/libvulkan_lvp.so" ] || die "mesa-vulkan-drivers from bookworm-backports has no $multiarch/libvulkan_lvp.so"
  # ${LAVAPIPE_FETCH:-} names packages to fetch as well (a test of the missing-library path).
  for round in 1 2 3 4 5; do
    libs="$(missing)"
    [ -z "$libs" ] && [ -z "${LAVAPIPE_FETCH:-}" ] && break
    pkgs=()
    for so in $libs; do
      p="$(package_of "$so")" || die "no Debian package known for $so (needed by libvulkan_lvp.so)"
      pkgs+=("$p")
    done
    for p in ${LAVAPIPE_FETCH:-}; do pkgs+=("$p"); done
    LAVAPIPE_FETCH=""
    say "missing on this system: ${libs:-none}; fetching ${pkgs[*]} (round $round)"
    fetch "${pkgs[@]}"
  done
  left="$(missing)"
  [ -z "$left" ] || die "still missing after fetching: $left"
  sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$libdir/libvulkan_lvp.so\"#" \
    "$files/usr/share/vulkan/icd.d/lvp_icd.json" >"$icd.tmp"
  grep -q "$libdir/libvulkan_lvp.so" "$icd.tmp" || die "could not rewrite library_path in lvp_icd.json"
  mv "$icd.tmp" "$icd"
  say "ready: $icd"
fi

echo "export VK_DRIVER_FILES=$icd"
# The unpacked libraries come first on the library path: the driver needs libdrm ≥ 2.4.121 (the
# backport's), newer than Debian 12's, and any library fetched above.
echo "export LD_LIBRARY_PATH=$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
