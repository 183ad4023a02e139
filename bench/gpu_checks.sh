#!/usr/bin/env bash
# The GPU checks of the kernels issue, as one short script for a lent GPU machine (run from the repository root after
# `make setup`; needs CUDA). Prints everything; JSON lands in bench/out/.
set -euxo pipefail
PY=${PY:-.venv/bin/python}
nvidia-smi || true
$PY -m pytest -q -p no:cacheprovider -m gpu tests/kernels
$PY bench/kernels.py --out bench/out/kernels_gpu.json
$PY bench/prefill.py --lengths 32768,131072 --json bench/out/prefill_gpu.json
