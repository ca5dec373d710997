#!/usr/bin/env bash
# On a lent GPU (the device tool), from the repository root: the `paper` path proved end to end (step 6c).
#  1. every paper notebook (01-05) executed by the batch runner under reproduce/gpu-proof.yaml: each recipe's
#     own input size, batch and optimiser on CUDA, one epoch on 64 images per split, in a scratch folder;
#  2. one ASNet fold at the paper's 192x256 on every image for $ASNET_EPOCHS epochs (default 3), timed.
# Writes $OUT/gpu-proof.csv (one line per notebook and one for the ASNet fold, the GPU named) and the logs;
# commit the CSV as results/benchmarks/gpu-proof-<gpu>-<date>.csv. Prepared by reproduce/gpu_proof_prepare.sh
# here, which fills what travels: .gpudata/isic2017-256 (the data) and .whl/ (the Jupyter stack and
# albumentations for the device's Python, which lacks them). Device call, e.g.:
#   run(command="OUT=$OUT bash reproduce/gpu_proof.sh", carry=[".gpudata", ".whl"], timeout_s=540)
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 PATH=/tmp/site/bin:$PATH
OUT=${OUT:-/tmp/gpu-proof-out}; ASNET_EPOCHS=${ASNET_EPOCHS:-3}; PROFILE=reproduce/gpu-proof.yaml
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
t0=$SECONDS
python3 reproduce/run.py --profile $PROFILE --notebooks 01 02 03 04 05 --yes >"$OUT/notebooks.log" 2>&1
rc_nb=$?; echo "notebooks: rc $rc_nb after $((SECONDS - t0)) s"; tail -n 9 "$OUT/notebooks.log"
t0=$SECONDS
python3 reproduce/train_runs.py --profile $PROFILE --notebook 05 --variants ASNet --set max_folds=1 --set max_images=0 \
  --set epochs=$ASNET_EPOCHS --set run_set=timing --yes >"$OUT/asnet.log" 2>&1
rc_asnet=$?; echo "ASNet fold 0: rc $rc_asnet after $((SECONDS - t0)) s"; tail -n 3 "$OUT/asnet.log"
python3 reproduce/benchmarks/gpu_proof_table.py /tmp/gpu-proof/results/gpu-proof "$OUT/gpu-proof.csv"
rc_table=$?  # 1 where a notebook or the fold is not done
[ $rc_nb -eq 0 ] && [ $rc_asnet -eq 0 ] && [ $rc_table -eq 0 ]
