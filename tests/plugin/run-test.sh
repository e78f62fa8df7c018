#!/usr/bin/env bash
# run-test.sh — run Script-Fu plug-in tests in a headless GIMP 3 (gimp-console-3.0).
#
# Usage:
#   run-test.sh --plugin-dir DIR              [--fixtures DIR] [--work DIR] TEST.scm...
#   run-test.sh --exe FILE --locale-dir DIR   [--fixtures DIR] [--work DIR] TEST.scm...
#
#   --plugin-dir DIR  an installed plug-in folder (…/plug-ins/gill holding gill and locale/);
#                     each test profile links to it, so the install layout itself is tested
#   --exe, --locale-dir  an uninstalled build: the plug-in binary and a folder holding
#                     <lang>/LC_MESSAGES/gill.mo (meson's build/po); copied into each profile
#   --fixtures DIR    golden fixtures (default: ../shared/fixtures beside the source tree)
#   --work DIR        template profiles, test profiles and logs (default: $TMPDIR/gill-plugin-tests)
#
# Each test gets a fresh copy of a warmed template profile (GIMP3_DIRECTORY), XDG_CONFIG_HOME
# inside it (with an empty gill/ folder), GILL_MODELS unset and LANG=C.UTF-8, unless the test's
# leading `;; env: NAME=VALUE ...` lines say otherwise (@FIXTURES@ and @PROFILE@ are replaced).
# The batch loads lib.scm, then the test, in the Script-Fu v3 dialect.
#
# A test fails on a non-zero exit of gimp-console (70: a Script-Fu error or failed assertion), on
# "is invalid or out of range" (a named argument GIMP silently replaced by its default), on a
# plug-in crash, or on a GLib warning/critical from the plug-in process.  Prints `PASS name` or
# `FAIL name` (plus the log's tail) per test and `N passed, M failed` last.  Exit status: 0 all
# passed, 1 some failed, 77 (meson's "skipped") when gimp-console-3.0 is not installed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PLUGIN_NAME=gill
GIMP_CONSOLE=${GIMP_CONSOLE:-gimp-console-3.0}
TEST_TIMEOUT=${GILL_PLUGIN_TEST_TIMEOUT:-300}

plugin_dir="" exe="" locale_dir=""
fixtures="$HERE/../../../shared/fixtures"
work="${TMPDIR:-/tmp}/gill-plugin-tests"
tests=()

die () { echo "run-test.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --plugin-dir) plugin_dir=$2; shift 2 ;;
    --exe)        exe=$2; shift 2 ;;
    --locale-dir) locale_dir=$2; shift 2 ;;
    --fixtures)   fixtures=$2; shift 2 ;;
    --work)       work=$2; shift 2 ;;
    -h|--help)    sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*)           die "unknown option $1" ;;
    *)            tests+=("$1"); shift ;;
  esac
done

[ ${#tests[@]} -gt 0 ] || die "no TEST.scm given"
if [ -n "$plugin_dir" ]; then
  [ -x "$plugin_dir/$PLUGIN_NAME" ] || die "$plugin_dir/$PLUGIN_NAME: no plug-in binary there"
else
  [ -n "$exe" ] && [ -x "$exe" ] || die "give --plugin-dir, or --exe with an executable plug-in"
  [ -n "$locale_dir" ] && [ -d "$locale_dir" ] || die "--locale-dir: no such folder: $locale_dir"
fi
command -v "$GIMP_CONSOLE" >/dev/null || { echo "SKIP: $GIMP_CONSOLE not installed"; exit 77; }
[ -d "$fixtures" ] || die "--fixtures: no such folder: $fixtures"

fixtures=$(cd "$fixtures" && pwd)
mkdir -p "$work/logs" || die "cannot create $work"
work=$(cd "$work" && pwd)    # GIMP3_DIRECTORY must be absolute

# Run gimp-console on one batch script, with the options every run uses; extra NAME=VALUE
# arguments first set the environment.  timeout(1) leads its own process group, which an
# interrupted run-test.sh kills as a whole (GIMP and its plug-in processes).
running=""
gimp_batch () {
  local script=$1 rc=0
  shift
  env -u GILL_MODELS "$@" timeout -k 10 "$TEST_TIMEOUT" "$GIMP_CONSOLE" -i -d -f \
    --batch-interpreter=plug-in-script-fu-eval -b "$script" --quit &
  running=$!
  wait "$running" || rc=$?
  running=""
  return $rc
}
trap '[ -n "$running" ] && kill -TERM -- "-$running" 2>/dev/null; exit 130' INT TERM

# A profile in which GIMP has already queried its own ~120 plug-ins (4 s per fresh profile),
# one per language since a language change re-queries everything.  Built once, under a lock,
# so parallel meson tests share it; it never contains our plug-in, so rebuilds do not stale it.
ensure_template () {
  local lang=$1 template="$work/template-$1" lock status=0
  exec {lock}>"$work/template.lock"
  flock "$lock"
  if [ ! -e "$template/.warm" ]; then
    rm -rf "$template" "$template.tmp" && mkdir -p "$template.tmp"
    if gimp_batch '(gimp-message "warm")' GIMP3_DIRECTORY="$template.tmp" \
         LANG="$lang" LANGUAGE= LC_ALL= >"$work/logs/template-$lang.log" 2>&1; then
      touch "$template.tmp/.warm" && mv "$template.tmp" "$template"
    else
      echo "run-test.sh: warming the template profile failed, see $work/logs/template-$lang.log" >&2
      status=1
    fi
  fi
  exec {lock}>&-
  return $status
}

# The test's `;; env:` assignments, placeholders replaced, one per line.
test_env () {
  local test=$1 profile=$2
  sed -n 's/^;; env: *//p' "$test" | tr ' ' '\n' | sed '/^$/d' \
    | sed "s|@FIXTURES@|$fixtures|g; s|@PROFILE@|$profile|g"
}

# Put the plug-in into $profile/plug-ins/gill.
install_plugin () {
  local profile=$1 dest="$1/plug-ins/$PLUGIN_NAME" mo lang
  mkdir -p "$profile/plug-ins"
  if [ -n "$plugin_dir" ]; then
    ln -s "$(cd "$plugin_dir" && pwd)" "$dest"
  else
    mkdir -p "$dest/locale"
    cp "$exe" "$dest/$PLUGIN_NAME"
    for mo in "$locale_dir"/*/LC_MESSAGES/"$PLUGIN_NAME".mo; do
      [ -e "$mo" ] || continue
      lang=$(basename "$(dirname "$(dirname "$mo")")")
      mkdir -p "$dest/locale/$lang/LC_MESSAGES"
      cp "$mo" "$dest/locale/$lang/LC_MESSAGES/"
    done
  fi
}

run_one () {
  local test=$1 name profile log lang assignment rc=0 why=""
  local -a envs
  name=$(basename "$test" .scm)
  log="$work/logs/$name.log"
  profile="$work/profile-$name"
  rm -rf "$profile"

  envs=(LANG=C.UTF-8 LANGUAGE= LC_ALL= XDG_CONFIG_HOME="$profile/xdg-config")
  while IFS= read -r assignment; do
    envs+=("$assignment")
  done < <(test_env "$test" "$profile")
  lang=C.UTF-8
  for assignment in "${envs[@]}"; do
    case "$assignment" in LANG=*) lang=${assignment#LANG=} ;; esac
  done

  if ! ensure_template "$lang"; then
    echo "FAIL $name (template profile)"
    return 1
  fi
  mkdir -p "$profile" && cp -a "$work/template-$lang/." "$profile/"
  rm -f "$profile/.warm"
  mkdir -p "$profile/xdg-config/gill"
  install_plugin "$profile"

  local script
  script="(begin (script-fu-use-v3)
                 (define gill-fixtures \"$fixtures\")
                 (define gill-test-dir \"$HERE\")
                 (load \"$HERE/lib.scm\")
                 (load \"$(cd "$(dirname "$test")" && pwd)/$(basename "$test")\"))"

  gimp_batch "$script" GIMP3_DIRECTORY="$profile" "${envs[@]}" >"$log" 2>&1 || rc=$?

  if [ $rc -ne 0 ]; then
    why="exit $rc"
  elif grep -q "is invalid or out of range" "$log"; then
    why="an argument was invalid or out of range"
  elif grep -q "Plug-in crashed\|returned no return values" "$log"; then
    why="a plug-in crashed"
  elif grep -E "^\($PLUGIN_NAME:[0-9]+\): [A-Za-z-]*(WARNING|CRITICAL) " "$log" \
         | grep -vq "gimp_flush(): error:"; then
    why="the plug-in logged a warning"
  fi

  if [ -z "$why" ]; then
    echo "PASS $name"
    rm -rf "$profile"
    return 0
  fi
  echo "FAIL $name ($why; log: $log)"
  tail -n 25 "$log" | sed 's/^/    /'
  return 1
}

passed=0 failed=0
for t in "${tests[@]}"; do
  if run_one "$t"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
