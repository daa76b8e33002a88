"""Atomic file writes (a reader never sees a half-written file under its final name), and the
hashes of files and folders."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same suffix as the target: some writers choose the format by it, or insist on it.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.tmp.", suffix=path.suffix)
    os.close(fd)
    # mkstemp creates 0600; give the final file the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def json_text(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=False) + "\n"


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json_text(obj))


def write_csv(path, rows: list[dict], columns=None) -> None:
    """Rows as CSV with a header; columns default to the first row's keys."""
    columns = list(columns or (rows[0] if rows else ["case"]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def read_csv(path, required_columns=(), delimiter=",") -> list[dict]:
    """The rows of a CSV file (a TSV file with delimiter="\\t"); a missing column is an error
    naming the file."""
    # utf-8-sig: spreadsheet exports often start with a byte-order mark.
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        missing = [c for c in required_columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)}")
        return list(reader)


def read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None


def publish_directory(staging: Path, target: Path) -> None:
    """Put the finished folder `staging` at `target`, replacing an earlier version of it.

    The new folder appears under its name in one rename; the old one (folder, file or link) is
    moved aside first and deleted only after that, so a reader sees the old or the new folder,
    never a mix, and a failed rename puts the old one back.
    """
    previous = None
    if target.exists() or target.is_symlink():
        previous = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old."))
        os.replace(target, previous / target.name)
    try:
        os.replace(staging, target)
    except BaseException:
        if previous is not None:  # put the old version back under its name
            os.replace(previous / target.name, target)
            previous.rmdir()
        raise
    if previous is not None:
        shutil.rmtree(previous)


@contextmanager
def staged_directory(target):
    """Yield an empty folder beside `target`; publish it as `target` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        yield staging
        publish_directory(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


# Hashes of files and folders: what a manifest, a fingerprint and the audit compare.

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


def read_json_as_of(path):
    """The JSON that `path` holds now, or None if there is no such file. Read once per state of
    the file: the workflow asks for the same small files for every job of a large DAG. Callers
    must not change what it returns."""
    try:
        state = os.stat(path)
    except FileNotFoundError:
        return None
    return _read_json_cached(str(path), state.st_mtime_ns, state.st_size)


@functools.lru_cache(maxsize=256)
def _read_json_cached(path: str, modified_ns: int, size: int):
    return read_json(path)
