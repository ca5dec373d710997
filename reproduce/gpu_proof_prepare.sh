#!/usr/bin/env bash
# Here, before reproduce/gpu_proof.sh runs on a lent GPU: fill the two git-ignored folders that travel with
# the device call (carry=[".gpudata", ".whl"]; with the checkout, about 60 MB of the 64 MiB a call carries):
#   .gpudata/isic2017-256  the training and validation folders of ../shared/data/isic2017-256 (17.5 MB)
#   .whl/                  wheels for the device's Python 3.12 of what it lacks: papermill, nbformat, nbconvert,
#                          ipykernel and their needs, albumentations (the lock's versions), not those it has
#                          (numpy, scipy, OpenCV, PyYAML, ...: its package list in the device tool's KINDS.md)
set -eu
cd "$(dirname "$0")/.."
SRC=${SRC:-../shared/data/isic2017-256}
mkdir -p .gpudata/isic2017-256
for d in ISIC-2017_Training_Data ISIC-2017_Training_Part1_GroundTruth ISIC-2017_Validation_Data \
         ISIC-2017_Validation_Part1_GroundTruth; do
  cp -r "$SRC/$d" .gpudata/isic2017-256/
done
cp "$SRC"/README* .gpudata/isic2017-256/ 2>/dev/null || true
rm -rf .whl && mkdir .whl
pins=$(grep -iE '^(papermill|nbformat|nbclient|nbconvert|ipykernel|ipython|jupyter[_-]client|jupyter[_-]core|traitlets|tornado|pyzmq|albumentations|albucore|pydantic|pydantic[_-]core)==' requirements.txt)
# shellcheck disable=SC2086
.venv/bin/python -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_26_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any \
  -d .whl $pins
# what the device's image holds already (a second copy of numpy or OpenCV would only fill the 64 MiB)
cd .whl && rm -f numpy-* scipy-* opencv_python* pyyaml-* PyYAML-* requests-* urllib3-* idna-* certifi-* \
  charset_normalizer-* attrs-* packaging-* click-* tqdm-* typing_extensions-* psutil-* jinja2-* markupsafe-* \
  MarkupSafe-* pygments-* python_dateutil-* six-*
cd .. && du -sh .gpudata .whl
