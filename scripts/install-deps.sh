#!/usr/bin/env bash
# install-deps.sh — install what gill needs to build and test natively on Debian 12/13.
# Idempotent: asks apt only for packages that are missing.
set -euo pipefail
PKGS="build-essential meson ninja-build pkg-config gettext
      libglib2.0-dev libjson-glib-dev libopenblas-dev libgdk-pixbuf-2.0-dev
      clang libclang-rt-dev debootstrap"
missing=()
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
