"""nnU-Net's 3d_fullres scaled beside 2d, end to end through the workflow (docs/method.md
section 11): planning, each family's candidates, scores and knee, its XTinyU-Net and nnU-Net
trained briefly, evaluated in millimetres, and the table naming the configuration."""

import csv
import re

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from conftest import REPO
from test_workflow import said, snakemake, write_config
from xtinyunet.io import read_json
from xtinyunet.job_sizes import job_size
from xtinyunet.plans.networks import build_network, count_parameters
from xtinyunet.provenance.audit import main as audit_main
from xtinyunet.reporting.results import read_results
from xtinyunet.scoring.records import read_scores_table
from xtinyunet.selection.records import select

DATASET = "Dataset503_TinyVol"
SHORT_TRAINER = "nnUNetTrainerShort_2ep_10it"
# Anisotropic on purpose: a distance in voxels and one in millimetres differ.
SPACING = [2.5, 1.0, 1.0]
RUNS = ("seed369_kall", "3d_fullres_seed369_kall")


@pytest.fixture(scope="module")
def volume_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("volumes")
    source = {
        "type": "synthetic",
        "num_train": 5,
        "num_test": 2,
        "image_size": [12, 40, 40],
        "spacing": SPACING,
        "seed": 7,
    }
    config = {
        "results_dir": str(workdir / "results"),
        "datasets": [{"id": 503, "name": "TinyVol", "source": source}],
        "scoring": {"configurations": ["2d", "3d_fullres"], "batch_size": "auto"},
        "training": {
            "trainers": {model: SHORT_TRAINER for model in ("xtinyunet", "nnunet", "sweep")},
            "sweep": False,
            "baseline_datasets": False,
            "final_validation": False,
        },
        "report": {"tables": [{"name": "volumes", "datasets": ["TinyVol"]}]},
    }
    write_config(workdir, config)
    run = snakemake(workdir, timeout=1800)
    assert run.returncode == 0, run.stderr[-5000:]
    return workdir / "results"


@pytest.mark.e2e
def test_each_family_is_scored_and_selected_from_its_own_candidates(volume_run):
    folder = volume_run / DATASET
    plans = read_json(volume_run / "nnUNet_preprocessed" / DATASET / "XTinyUNetPlans.json")
    dataset_json = read_json(volume_run / "nnUNet_raw" / DATASET / "dataset.json")
    candidates = [c["configuration"] for c in read_json(folder / "candidates.json")]
    for prefix, base in (("", "2d"), ("3d_fullres_", "3d_fullres")):
        rows = read_scores_table(folder / f"scores_{prefix}seed369_kall.csv")
        family = [name for name in candidates if name.rsplit("_xtiny", 1)[0] == base]
        assert [row["config"] for row in rows] == family and len(family) > 2
        for row in rows:
            assert plans["configurations"][row["config"]]["inherits_from"] == base
            network = build_network(plans, row["config"], dataset_json, seed=0)
            assert row["params"] == count_parameters(network)
            assert np.isfinite(row["sensitivity"]) and row["n_images"] == 5
        selection = read_json(folder / f"selection_{prefix}seed369_kall.json")
        assert selection.pop("context")["data_free_knees"]
        assert selection == select(rows, selection["method"])
        assert (folder / f"sensitivity_{prefix}seed369_kall.png").stat().st_size > 0
    # A 3D candidate scores whole volumes: the 3d patch has three sides.
    assert len(plans["configurations"]["3d_fullres"]["patch_size"]) == 3


@pytest.mark.e2e
def test_each_family_trains_its_xtinyunet_and_nnunet_and_the_table_names_them(volume_run):
    folder = volume_run / DATASET
    rows = {row["model"]: row for row in read_results(folder / "results.csv")}
    selected = read_json(folder / "selection_3d_fullres_seed369_kall.json")["config"]
    assert rows["XTinyU-Net (3d_fullres)"]["config"] == selected
    assert rows["nnU-Net (3d_fullres)"]["config"] == "3d_fullres"
    selected_2d = read_json(folder / "selection_seed369_kall.json")["config"]
    assert rows["XTinyU-Net"]["config"] == selected_2d
    assert rows["nnU-Net"]["config"] == "2d" and len(rows) == 4
    table = (volume_run / "tables" / "volumes.md").read_text()
    assert "| XTinyU-Net (3d_fullres) |" in table and "| nnU-Net (3d_fullres) |" in table
    assert "the baselines, if any, are 2D networks" in table
    for name in ("dice_vs_params.png", "3d_fullres_dice_vs_params.png", "3d_fullres_cost.csv"):
        assert (folder / name).stat().st_size > 0


def surface(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask)


def hd95_mm(prediction: np.ndarray, reference: np.ndarray, spacing) -> float:
    """The symmetric 95th-percentile surface distance, from scipy's exact distance transform
    with the voxel spacing (z, y, x) in mm."""
    directed = []
    for source, target in ((prediction, reference), (reference, prediction)):
        distances = ndimage.distance_transform_edt(~surface(target), sampling=spacing)
        directed.append(np.percentile(distances[surface(source)], 95))
    return float(max(directed))


@pytest.mark.e2e
def test_the_3d_models_are_evaluated_in_millimetres(volume_run):
    """Dice and HD95 of every test volume recomputed from the NIfTI files with SimpleITK's
    spacing: they equal the per-case table, and the distances are not in voxels."""
    raw = volume_run / "nnUNet_raw" / DATASET
    per_case = list(csv.DictReader((volume_run / DATASET / "results_per_case.csv").open()))
    checked = 0
    for row in per_case:
        if not row["config"].startswith("3d_fullres"):
            continue
        label_file = raw / "labelsTs" / f"{row['case']}.nii.gz"
        prediction_file = (
            volume_run / DATASET / "predictions" / f"{row['trainer']}__{row['config']}" / "fold_0"
        ) / label_file.name
        label_image = sitk.ReadImage(str(label_file))
        assert list(label_image.GetSpacing())[::-1] == SPACING
        reference = sitk.GetArrayFromImage(label_image) > 0
        prediction = sitk.GetArrayFromImage(sitk.ReadImage(str(prediction_file))) > 0
        dice = 200.0 * (prediction & reference).sum() / (prediction.sum() + reference.sum())
        assert float(row["dice"]) == pytest.approx(dice, rel=1e-6)
        if prediction.any() and reference.any():
            hd95 = hd95_mm(prediction, reference, SPACING)
            assert float(row["hd95"]) == pytest.approx(hd95, rel=1e-5)
            checked += 1
    assert checked, "no 3D prediction overlapped a lesion: nothing in mm was checked"


@pytest.mark.e2e
def test_the_audit_checks_both_families(volume_run, capsys):
    assert audit_main([str(volume_run)]) == 0
    said = capsys.readouterr().out
    assert "scores_3d_fullres_seed369_kall.csv row 3d_fullres_xtiny" in said
    assert "FAIL" not in said


@pytest.mark.e2e
def test_the_cluster_profile_gives_3d_jobs_their_larger_sizes(volume_run):
    """`snakemake --profile slurm` (dry run): each training asks for its network's size."""
    dry = snakemake(
        volume_run.parent, "--profile", REPO / "slurm", "-n", "--forcerun", "train_model"
    )
    assert dry.returncode == 0, dry.stderr[-3000:]
    sizes = {}
    for block in said(dry).split("rule train_model:")[1:]:
        configuration = re.search(r"configuration=([^,\s]+)", block)[1]
        sizes[configuration] = tuple(
            int(re.search(rf"\b{key}=(\d+)", block)[1]) for key in ("mem_mb", "runtime")
        )
    selected = [read_json(volume_run / DATASET / f"selection_{run}.json")["config"] for run in RUNS]
    assert set(sizes) == {"2d", "3d_fullres", *selected}
    for config, size in sizes.items():
        assert size == job_size("train_model", config, 1)
    assert job_size("train_model", "3d_fullres", 1) > job_size("train_model", "2d", 1)
