#!/usr/bin/env bash
# The main job on real sample photos that ship inside installed packages, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
S=.venv/bin/sensorium
export SENSORIUM_LIBRARY="$PWD/demo-library/library"
samples="$PWD/demo-library/samples"
.venv/bin/python -m sensorium.samples "$samples" >/dev/null
run() { echo; echo "\$ sensorium $*"; "$S" "$@"; }
run index "$samples"
run search "a cat"
run search "a cup of coffee" --limit 3
run search "galaxies in space" --limit 3
run search --like "$samples/cat-chelsea.png" --limit 3
run classify "$samples/cat-chelsea.png" "$samples/motorcycle.png" "$samples/rocket-launch.jpg" \
    --labels "cat, motorcycle, rocket, coffee"
run search "hot coffee at the summit" --modality text --limit 1
echo
echo "library: $SENSORIUM_LIBRARY (try: .venv/bin/sensorium search 'your words' -l $SENSORIUM_LIBRARY)"
