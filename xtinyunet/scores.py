"""Per-candidate score records and the per-dataset scores table."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict

from xtinyunet.candidates import cap_of
from xtinyunet.io import atomic_write_json, atomic_write_text, read_json
from xtinyunet.sensitivity import Score

TABLE_COLUMNS = (
    "config",
    "cap",
    "params",
    "sensitivity",
    "seed",
    "n_images",
    "n_finite",
    "seconds_score",
)


def write_score_record(path, score: Score, seed: int, settings: dict) -> None:
    record = {
        "config": score.configuration,
        "cap": cap_of(score.configuration),
        "params": score.params,
        "sensitivity": score.sensitivity,
        "seed": seed,
        **{k: v for k, v in asdict(score).items() if k not in ("configuration", "sensitivity", "params")},
        "settings": settings,
    }
    atomic_write_json(path, record)


def write_scores_table(record_files, path) -> list[dict]:
    """Gather score records into one CSV, widest candidate first; return the rows."""
    rows = [read_json(f) for f in record_files]
    rows.sort(key=lambda row: row["cap"], reverse=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TABLE_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())
    return rows


def read_scores_table(path) -> list[dict]:
    """Rows of a scores table, typed; a truncated or malformed table is an error naming it."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in TABLE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                rows.append(
                    {
                        "config": row["config"],
                        "cap": int(row["cap"]),
                        "params": int(row["params"]),
                        "sensitivity": float(row["sensitivity"]),
                        "seed": int(row["seed"]),
                        "n_images": int(row["n_images"]),
                    }
                )
            except (TypeError, ValueError):
                raise ValueError(f"{path}: line {line} is incomplete or malformed: {row}") from None
    if not rows:
        raise ValueError(f"{path}: no candidate rows")
    return rows
