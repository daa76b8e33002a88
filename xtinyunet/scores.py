"""Per-candidate score records and the per-dataset scores table."""

from __future__ import annotations

from dataclasses import asdict

from xtinyunet.candidates import cap_of
from xtinyunet.io import atomic_write_json, read_csv, read_json, write_csv
from xtinyunet.provenance import code_version
from xtinyunet.sensitivity import Score

# Nothing machine-dependent (timings, hardware) goes into the table: the same config must give a
# byte-identical table. The score records keep those.
TABLE_COLUMNS = ("config", "cap", "params", "sensitivity", "seed", "n_images", "n_finite")


def write_score_record(path, score: Score, seed: int, settings: dict) -> None:
    record = {
        "config": score.configuration,
        "cap": cap_of(score.configuration),
        "params": score.params,
        "sensitivity": score.sensitivity,
        "seed": seed,
        **{k: v for k, v in asdict(score).items() if k not in ("configuration", "sensitivity", "params")},
        "settings": settings,
        "code_version": code_version(),
    }
    atomic_write_json(path, record)


def write_scores_table(record_files, path) -> list[dict]:
    """Gather score records into one CSV, widest candidate first; return the rows."""
    rows = [read_json(f) for f in record_files]
    rows.sort(key=lambda row: row["cap"], reverse=True)
    write_csv(path, rows, TABLE_COLUMNS)
    return rows


def read_scores_table(path) -> list[dict]:
    """Rows of a scores table, typed; a truncated or malformed table is an error naming it."""
    rows = []
    for line, row in enumerate(read_csv(path, TABLE_COLUMNS), start=2):
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
