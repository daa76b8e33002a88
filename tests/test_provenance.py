"""Which code made a result: code_version() of a git checkout, its fallback, and the manifest."""

import subprocess
from importlib import metadata

import pytest

from conftest import REPO
from xtinyunet.code_version import (
    CODE_VERSION_FILE,
    code_version,
    describe_code_version,
    write_code_version,
)
from xtinyunet.io import read_json
from xtinyunet.plans.configuration import resolved_configuration
from xtinyunet.provenance.manifest import write_manifest


def git(checkout, *args) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def checkout(tmp_path):
    """A git checkout laid out like the project's, with one commit."""
    root = tmp_path / "project"
    (root / "xtinyunet").mkdir(parents=True)
    (root / "xtinyunet" / "scores.py").write_text("A = 1\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    code_version.cache_clear()
    yield root
    code_version.cache_clear()


def test_a_clean_checkout_gives_its_commit(checkout):
    assert code_version(checkout) == {"commit": git(checkout, "rev-parse", "HEAD"), "dirty": False}


def test_a_changed_or_an_untracked_file_makes_it_dirty_once_the_cache_is_cleared(checkout):
    clean = code_version(checkout)
    (checkout / "xtinyunet" / "scores.py").write_text("A = 2\n")
    assert code_version(checkout) == clean  # computed once per process
    code_version.cache_clear()
    assert code_version(checkout) == {"commit": clean["commit"], "dirty": True}

    git(checkout, "commit", "-q", "-am", "second")
    (checkout / "xtinyunet" / "new_module.py").write_text("B = 1\n")
    code_version.cache_clear()
    second = code_version(checkout)
    assert second == {"commit": git(checkout, "rev-parse", "HEAD"), "dirty": True}
    assert second["commit"] != clean["commit"]


@pytest.mark.parametrize("where", ["no_git", "inside_another_checkout"])
def test_without_its_own_checkout_the_package_version_stands_in(checkout, tmp_path, where):
    # An installed package: in a folder of no checkout, or in one (a venv's site-packages, say)
    # that lies inside some other checkout, whose commit says nothing about this code.
    folder = {"no_git": tmp_path, "inside_another_checkout": checkout}[where] / "site-packages"
    folder.mkdir(parents=True)
    version = code_version(folder)
    assert version["commit"] is None and version["dirty"] is None
    assert version["package_version"] == metadata.version("xtinyunet")
    assert "no git checkout" in version["source"]
    assert describe_code_version(version) == (
        f"package version {metadata.version('xtinyunet')} (no git commit)"
    )


def test_a_checkout_without_a_commit_falls_back_too(tmp_path):
    git(tmp_path, "init", "-q")
    code_version.cache_clear()
    assert code_version(tmp_path)["commit"] is None


def test_the_default_is_the_checkout_holding_the_package():
    assert code_version() == code_version(REPO)


def test_description_names_the_commit_and_uncommitted_changes():
    assert describe_code_version({"commit": "abc", "dirty": False}) == "commit abc"
    assert describe_code_version({"commit": "abc", "dirty": True}) == (
        "commit abc with uncommitted changes"
    )
    assert describe_code_version(None) == "no code version (None)"


def test_manifest_and_a_prediction_folder_record_the_same_code_version(tmp_path):
    plans = tmp_path / "nnUNetPlans.json"
    plans.write_text("{}")
    candidate_plans = tmp_path / "XTinyUNetPlans.json"
    candidate_plans.write_text('{"plans_name": "XTinyUNetPlans"}')
    manifest = write_manifest(
        tmp_path / "manifest.json",
        config={"scoring": {"seeds": [1]}},
        dataset="Dataset1_A",
        raw_digest={"sha256": "0", "files": {}},
        plans_file=plans,
        candidate_plans_file=candidate_plans,
        device="cpu",
    )
    assert manifest["git"] == read_json(tmp_path / "manifest.json")["git"] == code_version()
    write_code_version(tmp_path / "fold_0")
    assert read_json(tmp_path / "fold_0" / CODE_VERSION_FILE) == code_version()


def test_resolved_configuration_is_what_nnunet_resolves(plans):
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    for configuration in plans["configurations"]:
        resolved = PlansManager(plans).get_configuration(configuration).configuration
        assert resolved_configuration(plans, configuration) == resolved
