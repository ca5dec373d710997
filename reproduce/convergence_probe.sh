#!/usr/bin/env bash
# On a lent GPU (the device tool), from the repository root: train ASNet's six rows (fold 0) and the six
# one-protocol models for 40 epochs each under reproduce/convergence-probe.yaml (results/gpu-convergence/), all twelve at once on the one
# GPU, and pack their per-epoch histories into $OUT/probe.tar.gz. Runs still going at $DEADLINE seconds
# are stopped; their history.csv holds every epoch finished by then.
# Needs: .gpudata/isic2017-256 (train + validation of ../shared/data/isic2017-256) and .whl/ (the wheels
# of albumentations and its needs for the device's Python), both carried.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site:$PWD/src OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/probe-out}; DEADLINE=${DEADLINE:-330}
mkdir -p "$OUT" logs/probe
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
# the splits once, before twelve processes would race to write them
python3 - <<'PY' || exit 1
from skinseg.experiment import Experiment
from skinseg.papers import get_paper
from skinseg.profiles import load_profile, resolve
for key in ("asnet2020", "one_protocol"):
    spec = get_paper(key)
    Experiment(resolve(spec, load_profile("reproduce/convergence-probe.yaml")), spec).prepare_data()
PY
for v in U-Net Baseline Baseline_ASM_w/o_DI Baseline_ASM_w/o_SA Baseline_Wide ASNet; do
  python3 reproduce/train_runs.py --profile reproduce/convergence-probe.yaml --notebook 05 --variants "$v" >"logs/probe/05-${v//\//}.log" 2>&1 &
done
for v in LinkNet-64 LesionSeg U-Net ASNet FPN SLSDeep; do
  python3 reproduce/train_runs.py --profile reproduce/convergence-probe.yaml --notebook 06 --variants "$v" >"logs/probe/06-$v.log" 2>&1 &
done
end=$((SECONDS + DEADLINE))
while [ $SECONDS -lt $end ] && [ -n "$(jobs -rp)" ]; do sleep 5; done
left=$(jobs -rp); [ -n "$left" ] && { echo "stopped at the deadline: $(echo $left | wc -w) runs"; kill $left; sleep 2; }
echo "elapsed ${SECONDS} s"
tar czf "$OUT/probe.tar.gz" --exclude='*.pt' results/gpu-convergence logs/probe
tail -n 2 logs/probe/*.log
