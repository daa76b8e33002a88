"""The Makefile's commands do what the README says, whatever the config names."""

import shutil
import subprocess

from conftest import REPO


def make_dry(workdir, target) -> str:
    """What `make TARGET` would run from `workdir` (the repository's Makefile, nothing run)."""
    shutil.copy(REPO / "Makefile", workdir / "Makefile")
    run = subprocess.run(
        # --no-print-directory: under `make test` the nested make would print where it runs
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", target],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_clean_removes_the_results_folder_the_config_names(tmp_path):
    (tmp_path / "config.yaml").write_text(
        'results_dir: "/data/runs/first try"   # where the results go\ndatasets: []\n'
    )
    assert make_dry(tmp_path, "clean").strip() == 'rm -rf "/data/runs/first try" .snakemake'
    (tmp_path / "config.yaml").write_text("datasets: []\n")
    assert make_dry(tmp_path, "clean").strip() == 'rm -rf "results" .snakemake'


def test_report_gives_snakemake_the_core_count_it_asks_for(tmp_path):
    (tmp_path / "config.yaml").write_text("datasets: []\n")
    assert make_dry(tmp_path, "report").strip() == "snakemake --cores 1 --report report.html"


def test_claim_runs_the_claim_config_and_publishes_from_its_results_folder(tmp_path):
    (tmp_path / "config.yaml").write_text("results_dir: demo_results\ndatasets: []\n")
    (tmp_path / "claim.yaml").write_text("results_dir: 'claim runs'  # the claim's\n")
    page = "python -m xtinyunet.reporting.claim_document docs/claim/data docs/claim.md"
    assert make_dry(tmp_path, "claim").splitlines() == [
        "snakemake --cores 2 claim --configfile claim.yaml",
        'mkdir -p docs/claim/data && cp "claim runs"/claim/data/* docs/claim/data/',
        page,
    ]
    # The page again from the committed tables: nothing trained, nothing copied.
    assert make_dry(tmp_path, "claim-page").splitlines() == [page]
    # Without its own results_dir the claim writes where config.yaml says.
    (tmp_path / "claim.yaml").write_text("datasets: []\n")
    assert 'cp "demo_results"/claim/data/*' in make_dry(tmp_path, "claim")
