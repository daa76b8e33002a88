#!/usr/bin/env bash
# The GPU scoring check in one call (benchmarks/gpu_scoring.py; BENCHMARKS.md):
#   bash benchmarks/gpu_check.sh [gpu_scoring.py's options]   results in $OUT
#   bash benchmarks/gpu_check.sh --prepare [options]          fills benchmarks/gpu_carry
# A GPU machine lent for one call has Python 3.12, torch, numpy and scipy, but neither nnU-Net
# nor a package registry. --prepare, here, puts under gpu_carry/site what building nnU-Net's
# networks imports (nnunetv2, its helpers, and blosc2 with the packages its import needs), at
# this environment's versions as CPython 3.12 wheels; copies the plans of benchmarks/
# scoring_speed.py's datasets, where they are, to gpu_carry/fixtures; and scores the synthetic
# images on this CPU into gpu_carry/fixtures/cpu_reference.json, which a run then compares with.
set -euo pipefail
cd "$(dirname "$0")/.."
# The project's environment where there is one (this machine), else the machine's Python that
# has torch.
if [[ -z ${PYTHON:-} ]]; then
    for candidate in .venv/bin/python python3 python; do
        if "$candidate" -c 'import torch' 2>/dev/null; then PYTHON=$candidate && break; fi
    done
fi
: "${PYTHON:?no Python here imports torch; set PYTHON}"
CARRY=benchmarks/gpu_carry
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [[ "${1:-}" == --prepare ]]; then
    shift
    # What `import nnunetv2.utilities.label_handling.label_handling` needs beyond torch, numpy
    # and scipy: acvl_utils imports blosc2, which imports msgpack, ndindex, numexpr and httpx.
    packages=(nnunetv2 acvl_utils batchgenerators dynamic_network_architectures blosc2 msgpack
        ndindex numexpr httpx idna)
    read -ra pins < <("$PYTHON" -c 'import sys
from importlib.metadata import version
print(" ".join(f"{name}=={version(name)}" for name in sys.argv[1:]))' "${packages[@]}")
    rm -rf "$CARRY/site"
    "$PYTHON" -m pip install --quiet --no-compile --no-deps --target "$CARRY/site" \
        --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform any \
        "${pins[@]}"
    rm -rf "$CARRY/site/bin" # console scripts, written for this machine's interpreter
    for dataset in isic brats; do
        planned=(results/benchmark_scoring/"$dataset"/results/nnUNet_preprocessed/Dataset*)
        if [[ -d ${planned[0]} ]]; then
            mkdir -p "$CARRY/fixtures/$dataset"
            cp "${planned[0]}"/{XTinyUNetPlans.json,dataset.json} "$CARRY/fixtures/$dataset/"
        fi
    done
    cpu_run=$(mktemp -d)
    "$PYTHON" benchmarks/gpu_scoring.py --device cpu --stage-images 8 --out "$cpu_run" "$@"
    cp "$cpu_run/gpu_scoring.json" "$CARRY/fixtures/cpu_reference.json"
    cp "$cpu_run/gpu_scoring.md" "$CARRY/fixtures/cpu_reference.md"
    rm -r "$cpu_run"
    du -sh "$CARRY"
    exit
fi

reference=()
if [[ -f $CARRY/fixtures/cpu_reference.json ]]; then
    reference=(--reference "$CARRY/fixtures/cpu_reference.json")
fi
exec "$PYTHON" benchmarks/gpu_scoring.py --out "${OUT:?set OUT to the folder for the results}" \
    "${reference[@]}" "$@"
