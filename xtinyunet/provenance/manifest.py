"""Provenance manifests: what a dataset's results were computed from, for reproducibility audits."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from xtinyunet.code_version import code_version
from xtinyunet.io import atomic_write_json, config_sha256, file_sha256

PACKAGES = (
    "torch",
    "nnunetv2",
    "snakemake",
    "monai",
    "snakemake-executor-plugin-slurm",
    "xtinyunet",
)


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


def write_manifest(
    path,
    *,
    config: dict,
    dataset: str,
    raw_digest: dict,
    plans_file,
    candidate_plans_file,
    device: str,
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
        # nnU-Net's plans as its planning wrote them, and the workflow's plans made from them.
        "plans_sha256": file_sha256(plans_file),
        "candidate_plans_sha256": file_sha256(candidate_plans_file),
    }
    atomic_write_json(path, manifest)
    return manifest
