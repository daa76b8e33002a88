"""Provenance manifests: what a dataset's results were computed from, for reproducibility audits."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from xtinyunet.candidates import resolved_configuration
from xtinyunet.io import atomic_write_json
from xtinyunet.names import PLANS_FILE

PACKAGES = (
    "torch",
    "nnunetv2",
    "snakemake",
    "monai",
    "snakemake-executor-plugin-slurm",
    "xtinyunet",
)
CHUNK = 1 << 20
# The project's checkout: the folder holding the xtinyunet package.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Beside the files of a prediction folder: the code version that wrote them.
CODE_VERSION_FILE = "code_version.json"
# Beside a trained fold's checkpoints (written by the training job): its key "code_version".
TRAINING_FINGERPRINT_FILE = "training_fingerprint.json"


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_digest(folder) -> dict:
    """Every file below `folder` (links followed) with its SHA-256, and one hash over the list."""
    folder = Path(folder)
    files = {}
    # os.walk, not Path.rglob: the image folders of an nnunet_raw source are links.
    for root, dirs, names in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            files[str(path.relative_to(folder))] = file_sha256(path)
    listing = json.dumps(files, sort_keys=True).encode()
    return {"sha256": hashlib.sha256(listing).hexdigest(), "files": files}


def config_sha256(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def planned_inputs_digest(preprocessed_dir, configuration: str, splits_file=None) -> str:
    """SHA-256 of what a configuration's jobs are computed from: its resolved plans block, the
    preprocessed dataset.json and dataset fingerprint, and the dataset's own folds if any.

    The same digest after a re-plan means the same inputs, however new the files' times.
    """
    preprocessed_dir = Path(preprocessed_dir)
    with open(preprocessed_dir / PLANS_FILE) as handle:
        plans = json.load(handle)
    files = [preprocessed_dir / "dataset.json", preprocessed_dir / "dataset_fingerprint.json"]
    if splits_file is not None and Path(splits_file).is_file():
        files.append(Path(splits_file))
    inputs = {
        "configuration": resolved_configuration(plans, configuration),
        "files": [file_sha256(path) for path in files],
    }
    return config_sha256(inputs)


def _git(checkout: Path, *args) -> str:
    # --no-optional-locks: parallel jobs share the checkout; status must not take its index lock.
    return subprocess.run(
        ["git", "--no-optional-locks", "-C", str(checkout), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@functools.cache
def code_version(checkout=PROJECT_ROOT) -> dict:
    """Which project code this process runs: the commit of the git checkout `checkout` and whether
    its working tree differs from it (tracked changes or untracked files).

    `checkout` defaults to the folder holding the `xtinyunet` package. When that is not the top of
    a git checkout (an installed package), or git cannot tell, the installed package's version
    stands in, and the dict says so. Computed once per process: every job writes it.
    """
    checkout = Path(checkout).resolve()
    try:
        top, commit = _git(checkout, "rev-parse", "--show-toplevel", "HEAD").splitlines()
        if Path(top).resolve() == checkout:
            return {"commit": commit, "dirty": bool(_git(checkout, "status", "--porcelain"))}
    except (OSError, ValueError, subprocess.CalledProcessError):
        pass  # no git, not a repository, or no commit yet
    try:
        package_version = metadata.version("xtinyunet")
    except metadata.PackageNotFoundError:
        package_version = None
    return {
        "commit": None,
        "dirty": None,
        "package_version": package_version,
        # No path here: the same installed version on two machines is the same code.
        "source": "no git checkout of the project found: the installed package's version",
    }


def describe_code_version(version) -> str:
    """A code version in words, for reports: 'commit <sha>' (+ ' with uncommitted changes')."""
    if not isinstance(version, dict):
        return f"no code version ({version!r})"
    if version.get("commit"):
        changes = " with uncommitted changes" if version.get("dirty") else ""
        return f"commit {version['commit']}{changes}"
    return f"package version {version.get('package_version')} (no git commit)"


def versions() -> dict:
    found = {"python": sys.version.split()[0]}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def device_info(device: str) -> dict:
    info = {"device": device, "platform": platform.platform()}
    if device == "cuda":
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def write_code_version(folder) -> None:
    """Record in `folder` the code version that wrote its other files."""
    atomic_write_json(Path(folder) / CODE_VERSION_FILE, code_version())


def write_manifest(
    path, *, config: dict, dataset: str, raw_digest: dict, plans_file, device: str
) -> dict:
    """The manifest of one dataset's run. GPU models are in each score record (the jobs that
    ran on them know them); this job records its own platform."""
    manifest = {
        "dataset": dataset,
        "git": code_version(),
        "versions": versions(),
        "config": config,
        "config_sha256": config_sha256(config),
        "seeds": {"scoring": config["scoring"]["seeds"]},
        "device": device_info(device),
        "raw_dataset": raw_digest,
        "plans_sha256": file_sha256(plans_file),
    }
    atomic_write_json(path, manifest)
    return manifest
