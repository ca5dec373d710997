#!/usr/bin/env bash
# On a lent GPU (the device tool), from the repository root: train the six one-protocol models (seed 0)
# under reproduce/convergence-probe.yaml with every cpu-real setting but the device, at the epoch budgets
# in $BUDGETS (default "24 36"; each into results/gpu-convergence/one_protocol/e<budget>/), and pack the
# run folders (no weights) into $OUT/probe.tar.gz. Runs still going at $DEADLINE seconds are stopped;
# their history.csv holds every epoch finished by then, and they are not finished runs. The 2026-12-04
# probe ran with DEADLINE=505.
#
# Three streams, each training its models one after another: the first probe (commit 2a24cb1) ran twelve
# processes at once on the one GPU and got only 5-27 epochs each in 330 s. SLSDeep, the slowest model,
# has a stream to itself.
# Needs, carried: .gpudata/isic2017-256 (train + validation of ../shared/data/isic2017-256),
# .gpudata/isic2017-fullres-masks (the validation masks of ../shared/data/isic2017-fullres-masks: the
# one-protocol test set is the official validation split, scored at original resolution as cpu-real is)
# and .whl/ (the wheels of albumentations and its needs for the device's Python).
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site:$PWD/src OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/probe-out}; DEADLINE=${DEADLINE:-480}; BUDGETS=${BUDGETS:-24 36}
PROFILE=reproduce/convergence-probe.yaml
mkdir -p "$OUT" logs/probe
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
# the split once, before three processes would race to write it
python3 - <<'PY' || exit 1
from skinseg.experiment import Experiment
from skinseg.papers import get_paper
from skinseg.profiles import load_profile, resolve
spec = get_paper("one_protocol")
Experiment(resolve(spec, load_profile("reproduce/convergence-probe.yaml")), spec).prepare_data()
PY
END_TS=$(( $(date +%s) + DEADLINE ))
stream() {  # models, trained one after another at each budget in turn; none starts after the deadline
  for e in $BUDGETS; do
    for v in "$@"; do
      [ "$(date +%s)" -lt "$END_TS" ] || return 0
      t0=$SECONDS
      python3 reproduce/train_runs.py --profile $PROFILE --notebook 06 --variants "$v" --set epochs=$e \
        --set run_set=e$e --set num_workers=2 >"logs/probe/06-$v-e$e.log" 2>&1
      echo "$v e$e: rc $? after $((SECONDS - t0)) s"
    done
  done
}
stream SLSDeep &
stream FPN LesionSeg LinkNet-64 &
stream ASNet U-Net &
n=0
while [ "$(date +%s)" -lt "$END_TS" ] && [ -n "$(jobs -rp)" ]; do
  sleep 5; n=$((n + 1))
  [ $((n % 6)) -eq 0 ] && nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader | sed "s/^/${SECONDS} s: GPU /"
done
# the streams first, so that none starts another run once its current one is stopped
kill $(jobs -rp) 2>/dev/null
left=$(pgrep -f reproduce/train_runs.py)
[ -n "$left" ] && { echo "stopped at the deadline: $(echo $left | wc -w) runs"; kill $left; sleep 3; }
echo "elapsed ${SECONDS} s"
tar czf "$OUT/probe.tar.gz" --exclude='*.pt' results/gpu-convergence/one_protocol logs/probe
tail -n 3 logs/probe/*.log
