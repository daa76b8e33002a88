"""What every job script does when it starts (xtinyunet/jobs.py)."""

import resource
import subprocess
import sys

import pytest

REPEATED_ALLOCATIONS = """
import resource, sys
from xtinyunet.jobs import keep_freed_memory
if sys.argv[1] == "kept":
    keep_freed_memory()
bytearray(64 * 2**20)  # the first allocation faults its pages in either way
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    bytearray(64 * 2**20)  # 64 MiB, zeroed: an activation-sized buffer, freed at once
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc")
def test_kept_memory_spares_the_page_faults_of_each_new_large_buffer():
    """glibc maps each large buffer afresh and faults in its pages again; with
    keep_freed_memory the heap keeps them (what a scoring or training step does with its
    activations)."""

    def faults(mode):
        run = subprocess.run(
            [sys.executable, "-c", REPEATED_ALLOCATIONS, mode],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(run.stdout)

    pages = 64 * 2**20 // resource.getpagesize()
    assert faults("default") >= 10 * pages * 0.9
    assert faults("kept") < pages


def test_auto_runs_on_a_gpu_where_torch_sees_one_else_on_the_cpu():
    import torch

    from xtinyunet.jobs import resolve_device

    assert resolve_device("auto", "training.device") == (
        "cuda" if torch.cuda.is_available() else "cpu"
    )
    assert resolve_device("cpu", "training.device") == "cpu"
    with pytest.raises(
        ValueError, match=r"scoring.device must be one of auto, cpu, cuda, got 'gpu'"
    ):
        resolve_device("gpu", "scoring.device")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match=r"training.device is 'cuda' but torch sees no"):
            resolve_device("cuda", "training.device")
