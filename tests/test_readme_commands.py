"""Every command the README shows, run as a user runs it: `make demo`, `make dry-run`,
`make report`, `make clean` and the others, typed in a folder laid out like a checkout (the
repository's files linked in) whose config.yaml is a small one.

COMMANDS maps each command the README shows to the test that runs or checks it; a command added
to the README without an entry there fails `test_every_command_the_readme_shows_is_tested_here`.
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import REPO
from test_workflow import said
from xtinyunet.sources import check_source

README = REPO / "README.md"
CI_SCRIPT = REPO / ".ci" / "run"
SLURM_TEST = REPO / "tests" / "test_slurm.py"
SHORT_TRAINER = "nnUNetTrainerShort_2ep_10it"
DATASET = "Dataset831_ReadmeUS"
# The demo's chain on one small synthetic dataset: XTinyU-Net and nnU-Net, briefly trained, and
# one table (the report then has a table besides the figures).
SMALL_CONFIG = {
    "results_dir": "results",
    "datasets": [
        {
            "id": 831,
            "name": "ReadmeUS",
            "source": {
                "type": "synthetic",
                "num_train": 12,
                "num_test": 2,
                "image_size": 32,
                "seed": 11,
            },
        }
    ],
    "scoring": {"seeds": [369], "num_images": ["all"], "batch_size": 4},
    "training": {
        "trainers": {model: SHORT_TRAINER for model in ("xtinyunet", "nnunet", "sweep")},
        "baselines": [],
        "final_validation": False,
    },
    "report": {"tables": [{"name": "readme", "datasets": ["ReadmeUS"]}]},
}
# What the report of that run holds: every report() output of the rules that ran.
REPORTED = {
    f"results/{DATASET}/sensitivity_seed369_kall.png",
    f"results/{DATASET}/dice_vs_params.png",
    f"results/{DATASET}/qualitative.png",
    f"results/{DATASET}/cost.csv",
    "results/tables/readme.csv",
}
# Top-level entries a checkout has that the linked folder leaves out: its own config.yaml and
# what a run writes; .git, so that nothing run there touches the repository's index.
NOT_LINKED = {
    ".git",
    "config.yaml",
    "results",
    "results_claim",
    ".snakemake",
    "report.html",
    ".pytest_cache",
    ".ruff_cache",
    ".cache",
    "__pycache__",
}

CI = ".ci/run"  # what CI runs on a fresh machine; this test does not run the suite inside itself
# Each command the README shows (as it is written there, white space collapsed) -> what runs or
# checks it: a test of this file, `path::test` of another file, or CI.
COMMANDS = {
    # Quick start. The suite itself runs under `make test`, and .ci/run runs `make lint` and
    # `make test` on every push: running them here would run this file inside itself.
    "make demo": ("test_make_demo_runs_the_whole_chain",),
    "make test": (CI,),
    "snakemake --cores 2": ("test_make_demo_runs_the_whole_chain",),
    "make demo CORES=N": ("test_make_demo_gives_snakemake_the_cores_asked_for",),
    # The targets table.
    "make report": ("test_make_report_writes_the_report",),
    "make lint": (CI,),
    "make dry-run": ("test_make_dry_run_after_the_demo_has_nothing_to_do",),
    "make benchmark": (
        "test_make_benchmark_runs_the_scoring_benchmark",
        "test_the_benchmarks_datasets_pass_the_workflows_checks",
    ),
    "make clean": ("test_make_clean_removes_the_results_and_snakemakes_folder",),
    # The claim run itself takes about two hours: its rules run on a small sweep in
    # test_workflow, the make target's commands are checked in test_makefile.
    "make claim": (
        "tests/test_workflow.py::test_the_claim_of_the_swept_dataset_recomputed_by_hand",
        "tests/test_makefile.py::test_claim_runs_the_claim_config_and_publishes_from_its_results_folder",
        "tests/test_targets.py::test_the_claim_config_trains_every_width_under_three_seeds_on_five_datasets",
    ),
    "make claim-page": (
        "tests/test_makefile.py::test_claim_runs_the_claim_config_and_publishes_from_its_results_folder",
        "tests/test_claim.py::test_the_page_table_and_figures_are_made_from_the_data_alone",
    ),
    # Running on a cluster: the real cluster run is tests/test_slurm.py's (it skips without a
    # cluster); here, that the profile is found by its name from the repository root.
    "snakemake --profile slurm": (
        "test_the_slurm_profile_is_found_from_the_repository_root",
        "tests/test_slurm.py::local_and_slurm_runs",
    ),
    "snakemake --profile slurm selection": (
        "test_the_slurm_profile_is_found_from_the_repository_root",
    ),
    # Adding a dataset: `make demo` runs `snakemake --cores $(CORES)`, the same chain.
    "snakemake --cores N": (
        "test_make_demo_runs_the_whole_chain",
        "test_make_demo_gives_snakemake_the_cores_asked_for",
    ),
    # The data-flow diagram's last step.
    "python -m xtinyunet.provenance.audit results/": (
        "test_the_audit_passes_on_the_demos_results",
    ),
}

# How a command starts, outside ```bash blocks (those are commands line by line).
COMMAND_START = r"(?:make|snakemake|python)\s"


def shown_commands(readme: str) -> list[str]:
    """Every command the README shows, white space collapsed, in order: the lines of ```bash
    blocks (comments dropped), commands inside other code blocks, the `make X` cells of a table's
    first column, and inline code of the prose that starts with make, snakemake or python."""
    commands = []
    fenced = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
    for language, body in fenced.findall(readme):
        if language == "bash":
            commands += [line.split("#")[0] for line in body.splitlines()]
        else:
            commands += re.findall(rf"(?<![\w./-])({COMMAND_START}[^\n;#]*)", body)
    rest = fenced.sub("", readme)
    table_lines = [line for line in rest.splitlines() if line.startswith("|")]
    for line in table_lines:
        commands += re.findall(r"^\|\s*`(make [^`]+)`\s*\|", line)
    prose = "\n".join(line for line in rest.splitlines() if not line.startswith("|"))
    commands += [span for span in re.findall(r"`([^`]+)`", prose) if re.match(COMMAND_START, span)]
    commands = [" ".join(command.split()) for command in commands]
    return list(dict.fromkeys(command for command in commands if command))


def targets_table(readme: str) -> dict[str, list[str]]:
    """`make X` -> the inline code of its description, from the table of targets."""
    rows = re.findall(r"^\|\s*`make ([\w-]+)`\s*\|(.*)\|\s*$", readme, re.MULTILINE)
    return {target: re.findall(r"`([^`]+)`", description) for target, description in rows}


def checked_by(command: str) -> list[str]:
    """What is wrong with the entry of `command` in COMMANDS (empty: every check named exists)."""
    problems = []
    for check in COMMANDS[command]:
        if check == CI:
            ci_lines = CI_SCRIPT.read_text().splitlines()
            if command not in ci_lines:
                problems.append(f"{command!r}: {CI} does not run it")
        elif "::" in check:
            path, name = check.split("::")
            source = (REPO / path).read_text()
            if not re.search(rf"^def {name}\(", source, re.MULTILINE):
                problems.append(f"{command!r}: {path} has no {name}")
        elif not (check.startswith("test_") and callable(globals().get(check))):
            problems.append(f"{command!r}: this file has no test {check}")
    return problems


def user_env(folder: Path) -> dict:
    """The environment of a user in `folder` with the venv activated, not of a make running
    this suite (no MAKEFLAGS/MAKELEVEL: a nested make would inherit them and print where it
    runs); jobs import this checkout's package (see snakemake_env in test_workflow.py)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"}
    }
    env["PATH"] = f"{folder / '.venv' / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PYTHONPATH"] = str(REPO)
    return env


def venv_is_stale(folder: Path) -> bool:
    """Whether make would install the venv again (its stamp older than pyproject.toml)."""
    run = subprocess.run(
        ["make", "--no-print-directory", "-q", ".venv/.installed"],
        cwd=folder,
        capture_output=True,
        env=user_env(folder),
    )
    return run.returncode != 0


def make(folder: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`make ARGS` typed in `folder`. The shared venv is never installed again from here: with a
    stale stamp that would install the temporary folder's package into it (-o then)."""
    keep_venv = ["-o", ".venv/.installed"] if venv_is_stale(folder) else []
    return subprocess.run(
        ["make", "--no-print-directory", *keep_venv, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=user_env(folder),
    )


def run_in(folder: Path, *command, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=user_env(folder),
    )


def echoed(run) -> list[str]:
    """The command lines make printed (stdout; Snakemake logs to stderr)."""
    return [line for line in run.stdout.splitlines() if line.strip()]


def linked_checkout(folder: Path) -> Path:
    """`folder` laid out like a checkout: the repository's top-level entries linked in, the
    small config.yaml written."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in REPO.iterdir():
        if entry.name not in NOT_LINKED:
            (folder / entry.name).symlink_to(entry)
    (folder / "config.yaml").write_text(yaml.safe_dump(SMALL_CONFIG, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return linked_checkout(tmp_path_factory.mktemp("readme") / "checkout")


def files_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def typed_in_order(checkout):
    """The README's commands in the order a user types them, in one checkout: `make demo`, the
    audit, `make dry-run`, `make report`, `make clean`; what each printed and left behind."""
    seen = SimpleNamespace()
    results = checkout / "results"
    seen.demo = make(checkout, "demo")
    seen.results_after_demo = files_under(results) if results.is_dir() else set()
    table = results / DATASET / "results.csv"
    seen.models = table.read_text().splitlines()[1:] if table.is_file() else []
    seen.audit = run_in(checkout, "python", "-m", "xtinyunet.provenance.audit", "results/")
    seen.dry_run = make(checkout, "dry-run")
    seen.report = make(checkout, "report")
    report = checkout / "report.html"
    seen.report_html = report.read_text() if report.is_file() else ""
    seen.present_before_clean = {
        name: (checkout / name).exists() for name in ("results", ".snakemake")
    }
    seen.clean = make(checkout, "clean")
    seen.present_after_clean = {
        name: (checkout / name).exists() for name in ("results", ".snakemake", "Snakefile", ".venv")
    }
    return seen


# --- the README's commands, each with a test ---


def test_every_command_the_readme_shows_is_tested_here():
    shown = shown_commands(README.read_text())
    untested = [command for command in shown if command not in COMMANDS]
    assert untested == [], f"README commands no test runs: {untested}; add each to COMMANDS"
    gone = sorted(set(COMMANDS) - set(shown))
    assert gone == [], f"COMMANDS lists commands the README no longer shows: {gone}"
    problems = [problem for command in shown for problem in checked_by(command)]
    assert problems == []


def test_a_command_added_to_the_readme_or_a_check_that_is_gone_is_reported(monkeypatch):
    readme = README.read_text()
    added = readme.replace(
        "## Adding a dataset\n",
        "## Adding a dataset\n\n```bash\nmake everything   # all of it\n```\n\n"
        "Or `snakemake --cores 1 all`; see `config.yaml`.\n",
    )
    assert added != readme
    new = [command for command in shown_commands(added) if command not in COMMANDS]
    assert new == ["make everything", "snakemake --cores 1 all"]
    monkeypatch.setitem(COMMANDS, "make report", ("test_make_report_is_gone",))
    assert checked_by("make report") == [
        "'make report': this file has no test test_make_report_is_gone"
    ]
    assert checked_by("make benchmark") == []
    monkeypatch.setitem(COMMANDS, "make benchmark", (CI,))
    assert checked_by("make benchmark") == ["'make benchmark': .ci/run does not run it"]


def in_order(words: list[str], line: list[str]) -> bool:
    """Whether `words` occur in `line`, in this order (others may stand between them)."""
    rest = iter(line)
    return all(word in rest for word in words)


def test_the_targets_table_says_what_each_target_runs(checkout):
    """Each command the table's second column names is one that `make -n TARGET` prints, its
    words in order (the Makefile may add options, such as --cores 1 for the report)."""
    table = targets_table(README.read_text())
    assert set(table) == {"report", "lint", "dry-run", "benchmark", "claim", "claim-page", "clean"}
    named = 0
    for target, spans in table.items():
        dry = make(checkout, "-n", target)
        assert dry.returncode == 0, said(dry)
        lines = [line.split() for line in echoed(dry)]
        for span in spans:
            words = span.split()
            if len(words) < 2 or not shutil.which(words[0], path=user_env(checkout)["PATH"]):
                continue  # a path such as `results/`, not a command
            named += 1
            assert any(in_order(words, line) for line in lines), (
                f"`make {target}` does not run `{span}`; it runs {echoed(dry)}"
            )
    assert named >= 7


@pytest.mark.e2e
def test_make_demo_runs_the_whole_chain(typed_in_order):
    demo = typed_in_order.demo
    assert demo.returncode == 0, said(demo)[-5000:]
    assert echoed(demo)[0] == "snakemake --cores 2", echoed(demo)
    assert "pip install" not in demo.stdout
    steps = re.findall(r"^(\d+) of (\d+) steps \(100%\) done$", said(demo), re.MULTILINE)
    assert len(steps) == 1 and steps[0][0] == steps[0][1], said(demo)[-3000:]
    # One line per finished training and one per evaluated model, with its test Dice.
    models = [row.split(",") for row in typed_in_order.models]
    assert {row[0] for row in models} == {"XTinyU-Net", "nnU-Net"}
    for _, config, trainer, fold, *_ in models:
        model = f"{DATASET} {trainer}__{config} fold {fold}"
        assert re.search(rf"^trained {model} in \d+ s on cpu$", said(demo), re.MULTILINE)
        assert re.search(
            rf"^{model}: Dice \d+\.\d\d ± \d+\.\d\d % on 2 test cases$", said(demo), re.MULTILINE
        ), said(demo)[-3000:]
    assert {
        f"{DATASET}/selection_seed369_kall.json",
        f"{DATASET}/manifest.json",
        "tables/readme.md",
    } <= typed_in_order.results_after_demo


def test_make_demo_gives_snakemake_the_cores_asked_for(checkout):
    for cores in ("1", "3"):
        dry = make(checkout, "-n", "demo", f"CORES={cores}")
        assert dry.returncode == 0, said(dry)
        assert echoed(dry) == [f"snakemake --cores {cores}"]


@pytest.mark.e2e
def test_the_audit_passes_on_the_demos_results(typed_in_order):
    audit = typed_in_order.audit
    lines = audit.stdout.splitlines()
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-3000:]
    assert len(lines) > 10 and all(line.startswith("PASS ") for line in lines), lines


@pytest.mark.e2e
def test_make_dry_run_after_the_demo_has_nothing_to_do(typed_in_order):
    dry = typed_in_order.dry_run
    assert dry.returncode == 0, said(dry)[-3000:]
    assert echoed(dry)[0] == "snakemake -n"
    assert "Nothing to be done" in said(dry), said(dry)[-3000:]


@pytest.mark.e2e
def test_make_report_writes_the_report(typed_in_order):
    """report.html holds the run's tables and figures, each with its caption."""
    report = typed_in_order.report
    assert report.returncode == 0, said(report)[-3000:]
    found = re.search(r"^\s*var results = (\{.*\});?\s*$", typed_in_order.report_html, re.M)
    assert found, "report.html has no results"
    entries = json.loads(found[1].rstrip(";"))
    assert set(entries) == REPORTED
    for name, entry in entries.items():
        assert len(re.sub(r"<[^>]+>", "", entry["caption"]).strip()) > 40, name
        assert entry["data_uri"].startswith("data:"), name


@pytest.mark.e2e
def test_make_clean_removes_the_results_and_snakemakes_folder(typed_in_order):
    clean = typed_in_order.clean
    assert clean.returncode == 0, said(clean)
    assert echoed(clean) == ['rm -rf "results" .snakemake']
    assert typed_in_order.present_before_clean == {"results": True, ".snakemake": True}
    assert typed_in_order.present_after_clean == {
        "results": False,
        ".snakemake": False,
        "Snakefile": True,
        ".venv": True,
    }


def test_the_slurm_profile_is_found_from_the_repository_root(tmp_path):
    """Without a cluster, as dry runs: `--profile slurm` names the repository's slurm/ folder,
    and the `selection` target is the training-free stage only. tests/test_slurm.py runs the
    profile on a real cluster (its folder given by path)."""
    assert re.search(r'"--profile",\s*REPO / "slurm"', SLURM_TEST.read_text())
    folder = linked_checkout(tmp_path / "checkout")
    jobs = {}
    for target in ([], ["selection"]):
        dry = run_in(folder, "snakemake", "--profile", "slurm", *target, "-n", timeout=300)
        assert dry.returncode == 0, said(dry)[-3000:]
        assert "Using profile slurm for setting default command line arguments." in said(dry)
        stats = said(dry).split("Job stats:", 1)[1].split("total", 1)[0]
        jobs[" ".join(target)] = dict(re.findall(r"^(\w+)\s+(\d+)$", stats, re.MULTILINE))
    everything, selection = jobs[""], jobs["selection"]
    assert {"convert_dataset", "score_candidates", "select_knee", "all"} <= set(everything)
    assert {"gather_results", "make_table"} <= set(everything)
    assert set(selection) - {"selection"} < set(everything)
    assert {"select_knee", "selection"} <= set(selection)
    assert {"gather_results", "make_table", "all"} & set(selection) == set()
    # The claim runs with the profile unchanged: claim.yaml's five seeds on its five datasets.
    dry = run_in(
        folder, "snakemake", "--profile", "slurm", "claim", "--configfile", "claim.yaml", "-n"
    )
    assert dry.returncode == 0, said(dry)[-3000:]
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", said(dry).split("Job stats:", 1)[1], re.MULTILINE))
    assert stats["score_candidates"] == "25" and stats["write_claim"] == "1"


# `make benchmark` runs benchmarks/scoring_speed.py with no arguments: two datasets at the
# paper's scale (200 RGB images of 256x256, BraTS-like volumes), every candidate timed over batch
# sizes and thread counts, three runs: far too long for a test. Its main() runs here as written,
# its module's sizes made small: one 32x32 dataset, batch sizes 1 and 2, one run, one core, the
# scoring stage through Snakemake included.
TINY_BENCHMARK = {
    "id": 960,
    "name": "IsicTiny",
    "source": {
        "type": "synthetic",
        "num_train": 8,
        "num_test": 2,
        "image_size": 32,
        "channels": 3,
        "num_classes": 1,
        "seed": 960,
    },
}
SMALL_BENCHMARK = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("scoring_speed", "benchmarks/scoring_speed.py")
speed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(speed)
speed.DATASETS = {"isic": json.loads(sys.argv[1])}
speed.BATCH_SIZES = (1, 2)
speed.TIMED_IMAGES = 2
sys.argv = ["benchmarks/scoring_speed.py", *sys.argv[2:]]
speed.main()
"""


def benchmark_datasets() -> dict:
    """scoring_speed.py's DATASETS, read without importing it (its import sets torch up)."""
    tree = ast.parse((REPO / "benchmarks" / "scoring_speed.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["DATASETS"]:
            return ast.literal_eval(node.value)
    raise AssertionError("benchmarks/scoring_speed.py has no DATASETS")


@pytest.mark.e2e
def test_make_benchmark_runs_the_scoring_benchmark(checkout, tmp_path):
    dry = make(checkout, "-n", "benchmark")
    assert dry.returncode == 0, said(dry)
    assert echoed(dry) == ["python benchmarks/scoring_speed.py"]
    workdir = tmp_path / "benchmark"  # not the default, results/ of the repository it resolves
    run = run_in(
        checkout,
        sys.executable,
        "-c",
        SMALL_BENCHMARK,
        json.dumps(TINY_BENCHMARK),
        *("--dataset", "isic", "--images", "4", "--runs", "1", "--cores", "1", "--stage"),
        *("--workdir", workdir),
        timeout=400,
    )
    assert run.returncode == 0, said(run)[-5000:]
    candidates = json.loads(
        (workdir / "isic" / "results" / "Dataset960_IsicTiny" / "candidates.json").read_text()
    )
    rows = re.findall(r"^\| (2d_xtiny\d+) \| \d+\.\d+ \(", run.stdout, re.MULTILINE)
    assert rows == [c["configuration"] for c in candidates], run.stdout
    assert re.search(r"^fixed cost of a job: interpreter and imports \d", run.stdout, re.M)
    assert re.search(r"^stage, --cores 1, one job per table.*: \d+\.\d s wall", run.stdout, re.M)


def test_the_benchmarks_datasets_pass_the_workflows_checks(tmp_path):
    """The datasets `make benchmark` runs (at full size) pass the checks Snakemake makes of
    every configured dataset before any job starts."""
    datasets = benchmark_datasets()
    assert set(datasets) == {"isic", "brats"}
    for dataset in datasets.values():
        if "path" not in dataset["source"] and dataset["source"]["type"] != "synthetic":
            dataset["source"]["path"] = str(tmp_path)  # written by the benchmark itself
        check_source(dataset)
