"""The name registry: what the schema, the wildcards and nnU-Net agree on; a light parse."""

import re
import subprocess

import pytest
import yaml

from conftest import BIN, REPO
from xtinyunet.io import read_json
from xtinyunet.names import (
    BASE_CONFIGURATION,
    BASELINES,
    PLANNED_CONFIGURATIONS,
    PLANS,
    PLANS_FILE,
    baseline_configuration,
    candidate_configuration,
    configuration_pattern,
    family_label,
    family_of,
    family_of_prefix,
    family_prefix,
    family_prefix_pattern,
)

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())


def test_the_schema_names_no_baseline():
    """The workflow checks the baselines' names against the registry (rules/common.smk); the
    schema, which cannot read Python, names none, so no list of them can drift."""
    text = (REPO / "schemas" / "config.schema.yaml").read_text()
    for name in BASELINES:
        assert not re.search(rf"\b{name}\b", text), name
    assert "trainers" in SCHEMA["properties"]["training"]["properties"]


@pytest.mark.parametrize(
    "configuration",
    [*PLANNED_CONFIGURATIONS, candidate_configuration(512), candidate_configuration(1)]
    + [candidate_configuration(8, base) for base in ("3d_fullres", "3d_lowres")]
    + [baseline_configuration(name) for name in BASELINES],
)
def test_configuration_pattern_matches_every_configuration_the_workflow_makes(configuration):
    assert re.fullmatch(configuration_pattern(), configuration)


@pytest.mark.parametrize(
    "configuration",
    ["3d", "3d_fullres_unext", "3d_cascade_fullres", "2d_xtiny", "2d_xtinyx", "2d_unet"]
    + ["2d_unext_2", "2", ""],
)
def test_configuration_pattern_rejects_others(configuration):
    assert not re.fullmatch(configuration_pattern(), configuration)


def test_the_schema_offers_the_planned_configurations_and_2d_by_default():
    scoring = SCHEMA["properties"]["scoring"]["properties"]["configurations"]
    assert tuple(SCHEMA["$defs"]["configurations"]["items"]["enum"]) == PLANNED_CONFIGURATIONS
    assert scoring["default"] == [BASE_CONFIGURATION]


def test_a_family_prefix_is_empty_for_2d_and_names_the_other_configurations():
    """2d's files keep their names (scores_seed369_kall.csv); the others' start with the
    configuration, and the wildcard's pattern matches exactly the prefixes."""
    assert family_prefix(BASE_CONFIGURATION) == ""
    assert family_prefix("3d_fullres") == "3d_fullres_"
    for base in PLANNED_CONFIGURATIONS:
        assert family_of_prefix(family_prefix(base)) == base
        assert re.fullmatch(family_prefix_pattern(), family_prefix(base))
    assert not re.fullmatch(family_prefix_pattern(), "3d_fullres")
    assert family_label("XTinyU-Net", "2d") == "XTinyU-Net"
    assert family_label("XTinyU-Net", "3d_fullres") == "XTinyU-Net (3d_fullres)"
    assert family_of("3d_fullres_xtiny8") == family_of("3d_fullres") == "3d_fullres"
    assert family_of(baseline_configuration("unext")) == family_of("2d_xtiny8") == "2d"


def test_nnunet_planner_uses_the_registry_names(planned_dataset):
    """The real planner writes PLANS_FILE, names its plans PLANS and plans BASE_CONFIGURATION."""
    plans = read_json(planned_dataset / PLANS_FILE)
    assert plans["plans_name"] == PLANS
    assert BASE_CONFIGURATION in plans["configurations"]


def test_parsing_the_workflow_imports_neither_torch_nor_nnunetv2(tmp_path):
    """The Snakefile is parsed at every Snakemake call, on a cluster once per job: no torch."""
    config = {
        "results_dir": str(tmp_path / "results"),
        "datasets": [{"id": 1, "name": "A", "source": {"type": "synthetic"}}],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run = subprocess.run(
        [
            BIN / "python",
            "-X",
            "importtime",
            "-m",
            "snakemake",
            "--snakefile",
            REPO / "Snakefile",
            "--directory",
            tmp_path,
            "--cores",
            "1",
            "-n",
        ],
        capture_output=True,
        text=True,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in run.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "xtinyunet.names" in imported and "snakemake.workflow" in imported
    heavy = {name for name in imported if name.split(".")[0] in ("torch", "nnunetv2")}
    assert heavy == set()


# The modules of the jobs that gather, select and tabulate: each such job is an interpreter of
# its own, on the critical path at the start (scores, selection, plans) and at the end (tables).
LIGHT_JOB_MODULES = (
    "xtinyunet.plans.candidates",
    "xtinyunet.reporting.cost",
    "xtinyunet.reporting.figures",
    "xtinyunet.reporting.results",
    "xtinyunet.scoring.records",
    "xtinyunet.selection.records",
    "xtinyunet.reporting.tables",
)


@pytest.mark.parametrize("module", LIGHT_JOB_MODULES)
def test_gathering_and_table_modules_import_neither_torch_nor_monai(module):
    run = subprocess.run(
        [
            BIN / "python",
            "-c",
            f"import sys, {module}; heavy = {{'torch', 'monai', 'nnunetv2'}}; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))",
        ],
        capture_output=True,
        text=True,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "[]"


def test_reading_label_maps_does_not_import_monai():
    """The qualitative figure reads label maps through xtinyunet.evaluation.evaluate; only
    computing the metrics needs MONAI."""
    run = subprocess.run(
        [
            BIN / "python",
            "-c",
            "import sys, xtinyunet.evaluation.evaluate; print('monai' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "False"
