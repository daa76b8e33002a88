"""Provenance manifests: what a dataset's results were computed from, for reproducibility audits."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from xtinyunet.io import atomic_write_json

PACKAGES = (
    "torch", "nnunetv2", "snakemake", "monai", "snakemake-executor-plugin-slurm", "xtinyunet",
)
CHUNK = 1 << 20


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


def git_state(repo) -> dict:
    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                              text=True).stdout.strip()

    commit = git("rev-parse", "HEAD")
    return {"commit": commit or None, "dirty": bool(git("status", "--porcelain")) if commit else None}


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


def write_manifest(path, *, repo, config: dict, dataset: str, raw_digest: dict, plans_file,
                   device: str) -> dict:
    """The manifest of one dataset's run. GPU models are in each score record (the jobs that
    ran on them know them); this job records its own platform."""
    manifest = {
        "dataset": dataset,
        "git": git_state(repo),
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
