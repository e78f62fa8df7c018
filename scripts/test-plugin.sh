#!/usr/bin/env bash
# test-plugin.sh — build gill in a Debian 13 chroot and run its GIMP 3 plug-in tests headless.
#
# Usage (on the host, as root):  scripts/test-plugin.sh [--clean]
#
# 1. Makes sure the chroot exists (scripts/gimp3-chroot.sh; reused as is when its stamp is there).
# 2. Bind-mounts, read-only, the source tree on /src and the fixtures on /fixtures inside it, in a
#    private mount namespace when unshare(1) allows; unmounted on exit either way.
# 3. Inside the chroot: meson setup (build folder inside the chroot, /var/tmp/gill/build, since
#    build folders hold absolute paths), compile, `meson test --suite unit --suite fuzz`, and
#    `meson install --destdir` into /var/tmp/gill/stage.
# 4. Runs every tests/plugin/test-*.scm with tests/plugin/run-test.sh against the staged plug-in
#    folder (a fresh copy of a warmed template profile per test).
#
# Prints the core test result, then `PASS name` / `FAIL name` per plug-in test, and last
# `N passed, M failed`.  Exit status 0 only when the build, the core tests and every plug-in test
# passed.
#
# Environment:
#   GILL_CHROOT=/var/cache/gill/trixie   the chroot
#   GILL_FIXTURES=<src>/../shared/fixtures
#   GILL_CHROOT_REFRESH=1                 run gimp3-chroot.sh even when the chroot looks complete
#   MINIMAL=1                             passed to gimp3-chroot.sh when it creates the chroot
#                                         (default 1: the plug-in tests need no screenshot tools)
#   --clean                               throw away the build folder and test profiles first
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(readlink -m "${GILL_CHROOT:-/var/cache/gill/trixie}")
FIXTURES=${GILL_FIXTURES:-$SRC/../shared/fixtures}
CLEAN=0

# Inside the chroot (paths as the chroot sees them).
IN_SRC=/src
IN_FIXTURES=/fixtures
IN_TOP=/var/tmp/gill
IN_BUILD=$IN_TOP/build
IN_STAGE=$IN_TOP/stage
IN_WORK=$IN_TOP/plugin-tests

log () { echo "test-plugin [+${SECONDS}s]: $*" >&2; }
die () { echo "test-plugin: $*" >&2; exit 2; }

# ---------------------------------------------------------------------------- inside the chroot

# Runs as `/src/scripts/test-plugin.sh --inside [--clean]` under chroot with a clean environment.
inside () {
  local core_status=0 plugindir
  export LANG=C.UTF-8

  if [ "$CLEAN" = 1 ]; then
    rm -rf "$IN_BUILD" "$IN_STAGE" "$IN_WORK"
  fi
  mkdir -p "$IN_TOP"

  local opts=(--prefix=/usr -Dplugin=enabled "-Dfixtures_dir=$IN_FIXTURES")
  if [ -e "$IN_BUILD/meson-private/coredata.dat" ]; then
    log "meson setup --reconfigure $IN_BUILD"
    meson setup --reconfigure "$IN_BUILD" "$IN_SRC" "${opts[@]}" >"$IN_TOP/setup.log" 2>&1 \
      || { rm -rf "$IN_BUILD"; meson setup "$IN_BUILD" "$IN_SRC" "${opts[@]}" >"$IN_TOP/setup.log" 2>&1; } \
      || { cat "$IN_TOP/setup.log" >&2; die "meson setup failed"; }
  else
    log "meson setup $IN_BUILD"
    rm -rf "$IN_BUILD"
    meson setup "$IN_BUILD" "$IN_SRC" "${opts[@]}" >"$IN_TOP/setup.log" 2>&1 \
      || { cat "$IN_TOP/setup.log" >&2; die "meson setup failed"; }
  fi

  log "meson compile"
  meson compile -C "$IN_BUILD" >"$IN_TOP/compile.log" 2>&1 \
    || { tail -n 60 "$IN_TOP/compile.log" >&2; die "build failed (log: $ROOT$IN_TOP/compile.log)"; }
  grep -E "warning:" "$IN_TOP/compile.log" >&2 || true

  log "meson test --suite unit --suite fuzz"
  if meson test -C "$IN_BUILD" --no-rebuild --suite unit --suite fuzz >"$IN_TOP/core-tests.log" 2>&1; then
    echo "core tests (unit, fuzz): PASS ($(grep -E '^Ok:' "$IN_TOP/core-tests.log" | tr -s ' '))"
  else
    core_status=1
    echo "core tests (unit, fuzz): FAIL (log: $ROOT$IN_TOP/core-tests.log)"
    grep -E "^ *[0-9]+/[0-9]+ .*(FAIL|ERROR|TIMEOUT)" "$IN_TOP/core-tests.log" | sed 's/^/    /' || true
  fi

  log "meson install --destdir $IN_STAGE"
  rm -rf "$IN_STAGE"
  meson install -C "$IN_BUILD" --no-rebuild --destdir "$IN_STAGE" >"$IN_TOP/install.log" 2>&1 \
    || { cat "$IN_TOP/install.log" >&2; die "meson install failed"; }
  plugindir="$IN_STAGE$(pkg-config --variable=gimplibdir gimp-3.0)/plug-ins/gill"
  [ -x "$plugindir/gill" ] || die "no staged plug-in found in $IN_TOP/install.log"

  log "plug-in tests with $plugindir"
  local status=0
  "$IN_SRC/tests/plugin/run-test.sh" --plugin-dir "$plugindir" --fixtures "$IN_FIXTURES" \
    --work "$IN_WORK" "$IN_SRC"/tests/plugin/test-*.scm || status=$?
  [ $status -eq 0 ] && [ $core_status -eq 0 ]
}

# ---------------------------------------------------------------------------- on the host

cleanup_mounts () {
  local m
  for m in "$ROOT$IN_FIXTURES" "$ROOT$IN_SRC"; do
    if mountpoint -q "$m"; then
      umount "$m" || umount -l "$m" || echo "test-plugin: could not unmount $m" >&2
    fi
  done
}

bind_ro () {
  local from=$1 to=$2
  mkdir -p "$to"
  if mountpoint -q "$to"; then
    die "$to is already a mount point (another run, or a manual session?): unmount it first"
  fi
  mount --bind "$from" "$to"
  mount -o remount,bind,ro "$to"
}

host () {
  [ "$(id -u)" = 0 ] || die "must run as root (chroot, mount)"
  [ -d "$FIXTURES" ] || die "no fixtures at $FIXTURES (set GILL_FIXTURES)"
  FIXTURES=$(cd "$FIXTURES" && pwd)

  # A private mount namespace: our binds cannot clash with, or leak into, anybody else's.
  if [ -z "${GILL_TEST_PLUGIN_NS:-}" ] && command -v unshare >/dev/null \
     && unshare --mount --propagation private true 2>/dev/null; then
    GILL_TEST_PLUGIN_NS=1 exec unshare --mount --propagation private "$0" "$@"
  fi

  if [ ! -e "$ROOT/.gimp3-ci-stamp" ] || [ "${GILL_CHROOT_REFRESH:-0}" = 1 ]; then
    log "creating/refreshing the chroot in $ROOT (scripts/gimp3-chroot.sh)"
    MINIMAL=${MINIMAL:-1} "$SRC/scripts/gimp3-chroot.sh" "$ROOT" >&2
  fi
  [ -x "$ROOT/usr/bin/gimp-console-3.0" ] || die "$ROOT has no gimp-console-3.0"

  # One run at a time per chroot: the build folder and the mount points are shared.
  mkdir -p "$ROOT/var/lock"
  exec 9>"$ROOT/var/lock/gill-test-plugin.lock"
  flock -n 9 || { log "waiting for another test-plugin.sh run on $ROOT"; flock 9; }

  trap cleanup_mounts EXIT
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  bind_ro "$SRC" "$ROOT$IN_SRC"
  bind_ro "$FIXTURES" "$ROOT$IN_FIXTURES"

  local args=(--inside)
  [ "$CLEAN" = 1 ] && args+=(--clean)
  chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    TERM=dumb /bin/bash "$IN_SRC/scripts/test-plugin.sh" "${args[@]}"
}

mode=host
for arg in "$@"; do
  case "$arg" in
    --inside) mode=inside ;;
    --clean)  CLEAN=1 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $arg" ;;
  esac
done

if [ "$mode" = inside ]; then
  inside
else
  host "$@"
fi
