#!/usr/bin/env bash
# test.sh — set up a fresh Debian machine and run every test gill has:
#   1. native build + unit and fuzz-corpus tests (meson test)
#   2. the fixture checker over every folder of ../shared/fixtures (each case counted)
#   3. an address+undefined sanitizer build running the unit and fixture tests
#   4. libFuzzer targets (clang) for a bounded time each, on their corpora
#   5. the GIMP 3 plug-in tests inside a Debian 13 chroot (scripts/test-plugin.sh)
# and end with the plain line "N passed, M failed" over all of them.
#
# Environment: FIXTURES (default ../shared/fixtures), FUZZ_SECONDS (default 30 per target),
# SKIP_PLUGIN=1 / SKIP_ASAN=1 / SKIP_FUZZ=1 to leave a phase out while developing (the skipped
# phase is reported, not counted as passed).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FIXTURES=${FIXTURES:-$ROOT/../shared/fixtures}
FIXTURES=$(readlink -f "$FIXTURES")
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
PASSED=0
FAILED=0
SKIPPED_PHASES=()

log() { echo "== test.sh [+${SECONDS}s]: $*" >&2; }
count() { PASSED=$((PASSED + $1)); FAILED=$((FAILED + $2)); }

# meson test's summary -> counts ("Ok:" passed; Fail, Timeout, Unexpected Pass failed)
meson_counts() {
  local logf=$1 ok fail
  ok=$(awk '/^Ok:/{print $2}' "$logf" | tail -1)
  fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/{s+=$NF} END{print s+0}' "$logf")
  count "${ok:-0}" "${fail:-1}"
}

bash scripts/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }

# 1. native build and unit tests
log "native build"
if [ ! -f build/build.ninja ]; then
  meson setup build -Dfixtures_dir="$FIXTURES" -Dwerror=true >/tmp/gill-setup.log 2>&1 || { cat /tmp/gill-setup.log; echo "0 passed, 1 failed"; exit 1; }
else
  meson configure build -Dfixtures_dir="$FIXTURES" >/dev/null
fi
if ! meson compile -C build >/tmp/gill-build.log 2>&1; then
  tail -40 /tmp/gill-build.log; echo "0 passed, 1 failed"; exit 1
fi
log "unit and fuzz-corpus tests"
meson test -C build --suite unit --suite fuzz --print-errorlogs --num-processes 2 >/tmp/gill-unit.log 2>&1
grep -E '^ *[0-9]+/[0-9]+ ' /tmp/gill-unit.log
grep -B2 -A30 'stderr:' /tmp/gill-unit.log | head -80
meson_counts /tmp/gill-unit.log

# 2. fixtures: every case of every folder, counted one by one
log "fixture checker over $FIXTURES"
build/core/cli/gill check "$FIXTURES"/*/ >/tmp/gill-check.log 2>&1
grep -E '^(FAIL|SKIP)' /tmp/gill-check.log | cut -c1-200 | head -60
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' /tmp/gill-check.log | tail -1)
echo "fixtures: $line"
count "$(echo "$line" | awk '{print $1}')" "$(echo "$line" | awk '{print $3}')"
FIXTURE_SKIPS=$(echo "$line" | awk '{print $5}')

# 3. sanitizers
if [ "${SKIP_ASAN:-0}" != 1 ]; then
  log "address+undefined sanitizer build"
  if [ ! -f build-asan/build.ninja ]; then
    meson setup build-asan -Dfixtures_dir="$FIXTURES" -Db_sanitize=address,undefined -Db_lundef=false \
      -Dbuildtype=debugoptimized >/tmp/gill-asan-setup.log 2>&1 || cat /tmp/gill-asan-setup.log
  else
    meson configure build-asan -Dfixtures_dir="$FIXTURES" >/dev/null
  fi
  if meson compile -C build-asan >/tmp/gill-asan-build.log 2>&1; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      meson test -C build-asan --suite unit --suite fixtures --suite fuzz --print-errorlogs --num-processes 2 \
      >/tmp/gill-asan.log 2>&1
    grep -E '^ *[0-9]+/[0-9]+ ' /tmp/gill-asan.log | sed 's/^/asan /'
    grep -A30 'ERROR: AddressSanitizer\|runtime error' /tmp/gill-asan.log | head -60
    meson_counts /tmp/gill-asan.log
  else
    tail -30 /tmp/gill-asan-build.log; count 0 1
  fi
else
  SKIPPED_PHASES+=(asan)
fi

# 4. libFuzzer, bounded
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  log "libFuzzer targets, ${FUZZ_SECONDS}s each"
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzzing=true -Dfixtures_dir="$FIXTURES" -Db_lundef=false \
      -Dbuildtype=debugoptimized >/tmp/gill-fuzz-setup.log 2>&1 || cat /tmp/gill-fuzz-setup.log
  fi
  if meson compile -C build-fuzz >/tmp/gill-fuzz-build.log 2>&1; then
    for corpus in tests/fuzz/*.corpus; do
      t=$(basename "$corpus" .corpus)
      work=$(mktemp -d)
      cp -r "$corpus"/. "$work"/
      if ASAN_OPTIONS=detect_leaks=1 build-fuzz/tests/fuzz/fuzz-"$t" -max_total_time="$FUZZ_SECONDS" \
           -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$work/" "$work" >/tmp/gill-fuzz-"$t".log 2>&1; then
        echo "PASS fuzz-$t ($(grep -Eo 'Done [0-9]+ runs' /tmp/gill-fuzz-"$t".log | tail -1))"
        count 1 0
      else
        echo "FAIL fuzz-$t: see /tmp/gill-fuzz-$t.log"; tail -30 /tmp/gill-fuzz-"$t".log
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null
        count 0 1
      fi
      rm -rf "$work"
    done
  else
    tail -30 /tmp/gill-fuzz-build.log; count 0 1
  fi
else
  SKIPPED_PHASES+=(fuzz)
fi

# 5. the GIMP 3 plug-in in a Debian 13 chroot
if [ "${SKIP_PLUGIN:-0}" != 1 ]; then
  log "GIMP 3 plug-in tests in the Debian 13 chroot"
  bash scripts/test-plugin.sh >/tmp/gill-plugin.log 2>&1
  plugin_rc=$?
  grep -E '^(PASS|FAIL)|core tests' /tmp/gill-plugin.log
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' /tmp/gill-plugin.log | tail -1)
  if [ -n "$line" ]; then
    count "$(echo "$line" | awk '{print $1}')" "$(echo "$line" | awk '{print $3}')"
    # the chroot's own build and core tests fail the runner without a FAIL line of their own
    if [ "$plugin_rc" -ne 0 ] && [ "$(echo "$line" | awk '{print $3}')" = 0 ]; then
      echo "FAIL chroot build or core tests (Debian 13): see /tmp/gill-plugin.log"; count 0 1
    fi
  else
    tail -40 /tmp/gill-plugin.log; count 0 1
  fi
else
  SKIPPED_PHASES+=(plugin)
fi

log "done"
[ ${#SKIPPED_PHASES[@]} -eq 0 ] || echo "phases left out: ${SKIPPED_PHASES[*]}"
echo "fixture cases not implemented yet (SKIP, not counted as passed): ${FIXTURE_SKIPS:-?}"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
