"""Atomic file writes: a reader never sees a half-written file under its final name."""

from __future__ import annotations

import copy
import csv
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


def update_json(path, change):
    """Apply `change` to the JSON object in `path`; rewrite the file (atomically) only if that
    changed it, so that applying an idempotent change twice leaves the file untouched."""
    before = read_json(path)
    after = change(copy.deepcopy(before))  # a change made in place must still be seen
    if after != before:
        atomic_write_json(path, after)
    return after


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
