#!/usr/bin/env bash
# One lent GPU machine's session, run by the device tool from the repository root with $OUT set (README: Training):
# the GPU benchmark (benchmarks/gpu.py), then a fine-tune of the shipped network sized to the time left, rendered by
# worker processes. Carried: .whl (trimesh for Python 3.12), runs/paired, runs/photolabels, runs/dev_a.
#   SECONDS_TOTAL: the session's wall-clock budget for this script (default 570).
set -u
budget=${SECONDS_TOTAL:-570}
workers=$(($(nproc) - 2))
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
mount -o remount,size=32G /dev/shm 2>/dev/null  # the workers hand batches over in shared memory (34 MB each)
df -h /dev/shm | tail -1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
timeout 120 python3 benchmarks/gpu.py --workers "$workers" --report "$OUT/gpu.json" 2>&1 | grep -v "it/s"

# Steps that fit the time left at 85 % of the slower of rendering and training at batch 128.
left=$((budget - SECONDS - 40))
steps=$(python3 -c "
import json; r = json.load(open('$OUT/gpu.json'))['results']
rate = min(r['corpus_img_per_s_${workers}_workers'], r['train_img_per_s_batch128'])
print(max(500, int(0.85 * rate * $left / 128) // 100 * 100))" 2>/dev/null || echo 2000)
every=$((steps / 10))  # checkpoints ten times, so that a run cut short still leaves one
echo "training $steps steps at batch 128 with $workers workers, $left s left"
timeout "$left" python3 -m training.train --out runs/gpu1 --init assets/inversefacenet.safetensors \
  --input-mask split --crop-alignment true --alignment-weight 10000 --appearance-weight 30 --geometry-weight 5000 \
  --distribution paper --realism 0.3 --paired-faces runs/paired/paper6000.npz --paired-share 0.15 \
  --photo-labels runs/photolabels/dev_a.npz --photo-share 0.15 --composite-share 0.15 \
  --batch-size 128 --learning-rate 1e-4 --warmup-steps 200 --seed 201 --ema-decay 0.999 \
  --steps "$steps" --validate-every "$every" --workers "$workers" 2>&1 | tr '\r' '\n' | tail -5
tail -3 runs/gpu1/log.csv
cp runs/gpu1/best.safetensors runs/gpu1/best.json runs/gpu1/average.safetensors runs/gpu1/last.json \
  runs/gpu1/log.csv runs/gpu1/loss.png "$OUT"/
