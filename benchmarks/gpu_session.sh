#!/usr/bin/env bash
# One lent GPU machine's session, run by the device tool from the repository root with $OUT set (docs/training.md):
# the GPU benchmark (benchmarks/gpu.py), then a fine-tune of the shipped network sized to the time left, rendered by
# worker processes. Carried: .whl (trimesh for Python 3.12), runs/paired, runs/photolabels, runs/dev_a.
#   SECONDS_TOTAL: the session's wall-clock budget for this script (default 570).
set -u
budget=${SECONDS_TOTAL:-570}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

# The workers hand batches over in shared memory (34 MB each, two queued a worker): as many as it and the cores allow.
mount -o remount,size=32G /dev/shm 2>/dev/null || echo "could not enlarge /dev/shm"
shm_mb=$(($(df --output=avail -k /dev/shm | tail -1) / 1024))
workers=$(python3 -c "import sys; print(max(0, min(int(sys.argv[1]) - 2, int(sys.argv[2]) // 150)))" "$(nproc)" "$shm_mb")
echo "/dev/shm ${shm_mb} MB free: ${workers} workers"
timeout 150 python3 benchmarks/gpu.py --workers "$workers" --report "$OUT/gpu.json"

# Steps that fit the time left (less a minute for the run's start and its saves) at 80 % of the slower of the
# rendering and the training at batch 128; 2,000 if the benchmark said nothing.
left=$((budget - SECONDS - 40))
steps=$(python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))['results']
rate = min(r['corpus_img_per_s_' + sys.argv[2] + '_workers'], r['train_img_per_s_batch128'])
print(max(500, int(0.8 * rate * (int(sys.argv[3]) - 60) / 128) // 100 * 100))" "$OUT/gpu.json" "$workers" "$left" \
  2>/dev/null || echo 2000)
every=$((steps / 10))  # checkpoints ten times, so that a run cut short still leaves one
echo "training $steps steps at batch 128 with $workers workers, $left s left"
rm -rf runs/gpu1  # a warm machine keeps runs/: a new call starts a new run
timeout "$((left > 60 ? left : 60))" python3 -m training.train --out runs/gpu1 --init assets/inversefacenet.safetensors \
  --input-mask split --crop-alignment true --alignment-weight 10000 --appearance-weight 30 --geometry-weight 5000 \
  --distribution paper --realism 0.3 --paired-faces runs/paired/paper6000.npz --paired-share 0.15 \
  --photo-labels runs/photolabels/dev_a.npz --photo-share 0.15 --composite-share 0.15 \
  --batch-size 128 --learning-rate 1e-4 --warmup-steps 200 --seed 201 --ema-decay 0.999 \
  --steps "$steps" --validate-every "$every" --workers "$workers" 2>&1 | tr '\r' '\n' | tail -5
tail -3 runs/gpu1/log.csv
cp runs/gpu1/best.safetensors runs/gpu1/best.json runs/gpu1/average.safetensors runs/gpu1/last.json \
  runs/gpu1/log.csv runs/gpu1/loss.png "$OUT"/
