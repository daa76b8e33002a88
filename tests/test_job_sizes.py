"""The GPU jobs' cluster sizes by their network's family (xtinyunet/job_sizes.py)."""

import pytest
import yaml

from conftest import REPO
from xtinyunet.job_sizes import SIZES, job_size


@pytest.mark.parametrize("rule", sorted(SIZES))
def test_a_3d_network_asks_for_more_than_a_2d_one_and_each_retry_for_more(rule):
    for configuration in ("2d", "2d_xtiny8", "2d_unext"):
        assert job_size(rule, configuration, 1) == SIZES[rule]["2d"]
    for configuration in ("3d_fullres", "3d_fullres_xtiny16", "3d_lowres_xtiny4"):
        assert job_size(rule, configuration, 1) == SIZES[rule]["3d"]
    memory, minutes = job_size(rule, "3d_fullres", 2)
    assert (memory, minutes) == tuple(2 * size for size in SIZES[rule]["3d"])
    assert all(three > two for three, two in zip(SIZES[rule]["3d"], SIZES[rule]["2d"]))


def test_the_profile_leaves_the_gpu_jobs_sizes_to_the_rules_and_asks_a_gpu():
    """A size the profile set would win over the rule's, for 2D and 3D alike."""
    resources = yaml.safe_load((REPO / "slurm" / "config.yaml").read_text())["set-resources"]
    for rule in SIZES:
        assert resources[rule] == {"gpu": 1}, rule
