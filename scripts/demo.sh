#!/usr/bin/env bash
# The main job on real sample photos, recordings and videos that ship inside installed packages, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
S=.venv/bin/sensorium
export SENSORIUM_LIBRARY="$PWD/demo-library/library"
samples="$PWD/demo-library/samples"
.venv/bin/python -m sensorium.samples "$samples" >/dev/null
.venv/bin/python -c "import sys; from pathlib import Path; from sensorium.samples import collect_sound_samples as c; c(Path(sys.argv[1]))" "$samples/sounds"
cp tests/data/speech/meeting.flac "$samples/sounds/meeting.flac"  # espeak-ng speech (scripts/make_speech_fixtures.sh)
.venv/bin/python -c "import sys; from pathlib import Path; from sensorium.samples import collect_video_samples as c; c(Path(sys.argv[1]), Path(sys.argv[2]))" "$samples/videos" tests/data/speech/meeting.flac
run() { echo; echo "\$ sensorium $*"; "$S" "$@"; }
run index "$samples"
run search "a cat"
run search "a cup of coffee" --limit 3
run search "galaxies in space" --limit 3
run search "Grace Hopper" --limit 1  # found by the words its file carries (its JPEG comment)
run search --like "$samples/cat-chelsea.png" --limit 3
run search "a close-up portrait of a face" --limit 3  # the faces found beside each person
run classify "$samples/cat-chelsea.png" "$samples/motorcycle.png" "$samples/rocket-launch.jpg" \
    --labels "cat, motorcycle, rocket, coffee"
run describe "$samples/cat-chelsea.png"
roll="$PWD/demo-library/camera-roll"  # the same photos as HEIC, AVIF and a camera's RAW, one HEIC cut short
rm -rf "$roll" && .venv/bin/python scripts/camera_roll.py "$samples" "$roll"
ex="$PWD/demo-library/ex"  # few-shot: one example each of three labels with code names, which words cannot tell
rm -rf "$ex" && mkdir -p "$ex/kx7" "$ex/qr2" "$ex/zz9"
cp "$samples/cat-chelsea.png" "$ex/kx7/" && cp "$samples/rocket-launch.jpg" "$ex/qr2/" && cp "$samples/coins.png" "$ex/zz9/"
run classify "$roll"/*.NEF "$roll"/IMG_000[12].HEIC "$roll"/*.avif --examples "$ex"
run names add Tibbles "$roll/IMG_0001.HEIC"  # a name no model knows, taught by one photo
run search Tibbles --limit 1
run index "$roll" -l "$PWD/demo-library/camera-library" || echo "(exit $?: one file failed, as it should)"
run search "a rocket" -l "$PWD/demo-library/camera-library" --limit 1
run search "photos from Lisbon" -l "$PWD/demo-library/camera-library" --limit 1  # where the phone took it (GPS)
run search -l "$PWD/demo-library/camera-library" --taken 2024-05  # what it took that month (EXIF), by date alone
run search "a cat in spring 2024" -l "$PWD/demo-library/camera-library" --limit 1  # days said in the words
docs="$PWD/demo-library/documents"  # two PDFs: minutes with a text layer, a scanned page read by OCR
rm -rf "$docs" && .venv/bin/python scripts/sample_documents.py "$docs"
run index "$docs" -l "$PWD/demo-library/documents-library"
run search "money for next year" -l "$PWD/demo-library/documents-library" --limit 1
run search "markers of the coins" -l "$PWD/demo-library/documents-library" --limit 1
run search "hot coffee at the summit" --modality text --limit 1
run search "a dog barking" --modality audio --limit 3
run search "where they discuss the budget" --limit 1
run search --like "$samples/sounds/rooster.mp3" --modality audio --limit 2
run classify "$samples/sounds/dog.mp3" "$samples/sounds/cow.mp3" "$samples/sounds/boom.wav" \
    --labels "dog barking, cow mooing, explosion, rain"
run describe "$samples/sounds/meeting.flac" --format vtt
run clip "$samples/sounds/farm-walk.wav" --start 23.5 --end 30.5 -o "$PWD/demo-library/dog-moment.wav" --overwrite
run search "a rabbit in the grass" --modality video --limit 2
run search "a dog barking" --modality video --limit 1
run search "someone says thank you" --modality video --limit 1
run search --like "$samples/videos/man-on-the-phone.mp4" --limit 2
run classify "$samples/videos/street-bikes.mp4" "$samples/videos/big-buck-bunny.mp4" "$samples/videos/city-at-night.mpg" \
    --labels "bicycles, a rabbit, a city at night"
run describe "$samples/videos/street-walk.mp4" --format vtt --no-speech
run clip "$samples/videos/street-walk.mp4" --start 3.0 --end 5.5 -o "$PWD/demo-library/cyclist.mp4" --overwrite
echo
echo "library: $SENSORIUM_LIBRARY"
echo "try: SENSORIUM_MODELS=$SENSORIUM_MODELS .venv/bin/sensorium search 'your words' -l $SENSORIUM_LIBRARY"
