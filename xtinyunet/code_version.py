"""Which project code wrote a file: the git commit of the checkout (and whether it had
uncommitted changes), recorded beside every score, trained fold, prediction and manifest."""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path

from xtinyunet.io import atomic_write_json

# The project's checkout: the folder holding the xtinyunet package.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Beside the files of a prediction folder: the code version that wrote them.
CODE_VERSION_FILE = "code_version.json"
# Beside a trained fold's checkpoints (written by the training job): its key "code_version".
TRAINING_FINGERPRINT_FILE = "training_fingerprint.json"


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


def write_code_version(folder) -> None:
    """Record in `folder` the code version that wrote its other files."""
    atomic_write_json(Path(folder) / CODE_VERSION_FILE, code_version())
