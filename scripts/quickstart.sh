#!/usr/bin/env bash
# quickstart.sh — install what is missing, build, and run the main job.
# Until the GILL pipeline lands, the main job is `gill info` on a model folder:
#   scripts/quickstart.sh [MODEL_FOLDER]     (default: $GILL_MODELS, then the tiny GILL fixture)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null
MODEL=${1:-${GILL_MODELS:-../shared/fixtures/tiny-gill}}
exec build/core/cli/gill info "$MODEL"
