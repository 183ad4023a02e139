#!/usr/bin/env bash
# The GPU checks of the kernels issue (#6) and of block-memory prefill (#2), as one short script for a GPU machine.
#
#   After `make setup` on a CUDA machine:      bash bench/gpu_checks.sh            (results in bench/out/)
#   On a bare lent machine whose python3 already holds torch, triton and transformers (no network there):
#     here:   .venv/bin/python -m pip wheel -q --no-deps --no-build-isolation -w .whl .
#             + wheels of lark, gguf, jsonschema (+ referencing, jsonschema-specifications, rpds-py) in .whl/, and of
#               transformers >= 5.24 where the machine's is older (its 5.17 ignored `cache=`: seen 2026-11-28)
#             + the embedded model's config.json in .gpu/smollm2/ (prefill then times random weights of that shape:
#               the 98 MB GGUF does not travel; the cost does not depend on the weights)
#     there:  bash bench/gpu_checks.sh          (with .whl and .gpu carried; OUT=dir collects the results)
# STEPS="pytest kernels prefill profile tune" picks steps (default: all but tune); LENGTHS, MODES, PROFILE_LENGTH too.
# Each step has its own time limit and a failing step does not stop the others; the exit status is that of the
# first failing step.
set -uo pipefail
export PYTHONUNBUFFERED=1 MEMGRAM_KERNELS=auto
PY=${PY:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
RES=${OUT:-bench/out}
mkdir -p "$RES"
if [ -d .whl ] && ! $PY -c "import memgram.runtime" 2>/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
CFG=()
[ -f .gpu/smollm2/config.json ] && CFG=(--config .gpu/smollm2)
rc=0
STEPS=${STEPS:-pytest kernels prefill profile}  # also: tune (tile-size sweep, bench/kernels_tune.py)
step() {  # step SECONDS LOGNAME command...   (runs when LOGNAME's first word is in $STEPS)
  local limit=$1 log=$2; shift 2
  [[ " $STEPS " == *" ${log%%_*} "* ]] || { echo "=== skipped ${log%%_*}"; return; }
  echo "=== $* (limit ${limit}s)"
  local t0=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee "$RES/$log"
  local r=${PIPESTATUS[0]}
  echo "=== rc=$r in $((SECONDS - t0)) s"
  [ $rc -eq 0 ] && rc=$r
}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv || true
$PY -P -c "import torch, triton, transformers, memgram; print('torch', torch.__version__, 'triton', triton.__version__, \
'transformers', transformers.__version__, 'memgram', memgram.__file__, 'cuda', torch.cuda.is_available())"
# -P: the checkout's bare memgram/ must not shadow the installed package
step 150 pytest_gpu.log $PY -P -m pytest -q -p no:cacheprovider -m gpu tests/kernels
step 200 tune_kernels.log $PY bench/kernels_tune.py --out "$RES/kernels_tune.json"
step 100 kernels_gpu.log $PY bench/kernels.py --out "$RES/kernels_gpu.json"
step 220 prefill_gpu.log $PY bench/prefill.py --lengths "${LENGTHS:-32768,131072}" --modes "${MODES:-full,block,block:exec_chunk=2048}" \
  --json "$RES/prefill_gpu.json" "${CFG[@]}"
# where block-memory prefill spends its time (host side; CUDA runs asynchronously), for the next optimisation
step 80 profile_block_prefill.log $PY -P -c "import cProfile, pstats, sys; sys.argv = ['prefill', '--modes', 'block', \
'--lengths', '${PROFILE_LENGTH:-32768}', '--json', '/tmp/prefill_profile.json'] + sys.argv[1:]; sys.path.insert(0, 'bench'); \
import prefill; cProfile.run('prefill.main(sys.argv[1:])', '/tmp/prefill.prof'); \
pstats.Stats('/tmp/prefill.prof').sort_stats('tottime').print_stats(25)" "${CFG[@]}"
exit $rc
