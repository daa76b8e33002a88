"""Per-candidate score records and the per-dataset scores table."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from xtinyunet.code_version import code_version
from xtinyunet.io import atomic_write_json, read_csv, read_json, write_csv
from xtinyunet.jobs import resolve_device
from xtinyunet.plans.candidates import cap_of
from xtinyunet.scoring.metric_names import PRIMARY_METRIC, score_column

# For the annotation only: xtinyunet.scoring.sensitivity imports torch, which a table does not need.
if TYPE_CHECKING:
    from xtinyunet.scoring.sensitivity import Score

# Nothing machine-dependent (timings, hardware) goes into the table: the same config must give a
# byte-identical table. The score records keep those.
TABLE_COLUMNS = ("config", "cap", "params", "sensitivity", "seed", "n_images", "n_finite")


def proxy_columns(metrics) -> tuple[str, ...]:
    """The columns after TABLE_COLUMNS: one per configured metric besides the paper's."""
    return tuple(score_column(m) for m in metrics if m != PRIMARY_METRIC)


def scoring_settings(params) -> dict:
    """What a score record states it was scored with, from a scoring rule's params (the one-job
    and the per-candidate rule alike): the device is the one this job uses (scoring.device
    `auto` resolved)."""
    return {
        "num_images": params.num_images,
        "batch_size": params.batch_size,
        "device": resolve_device(params.device, "scoring.device"),
        "precision": params.precision,
        "metrics": list(params.metrics),
    }


def write_score_record(path, score: Score, seed: int, settings: dict) -> None:
    record = {
        "config": score.configuration,
        "cap": cap_of(score.configuration),
        "params": score.params,
        "sensitivity": score.sensitivity,
        "seed": seed,
        **{
            k: v
            for k, v in asdict(score).items()
            if k not in ("configuration", "sensitivity", "params")
        },
        "settings": settings,
        "code_version": code_version(),
    }
    atomic_write_json(path, record)


def write_scores_table(record_files, path, metrics=(PRIMARY_METRIC,)) -> list[dict]:
    """Gather score records into one CSV, widest candidate first, a column per metric; return
    the rows."""
    extra = proxy_columns(metrics)
    rows = []
    for record_file in record_files:
        record = read_json(record_file)
        missing = [m for m in extra if m not in record.get("proxies", {})]
        if missing:
            raise ValueError(f"{record_file}: no score for {', '.join(missing)}")
        rows.append(record | {m: record["proxies"][m] for m in extra})
    rows.sort(key=lambda row: row["cap"], reverse=True)
    write_csv(path, rows, TABLE_COLUMNS + extra)
    return rows


def read_scores_table(path, metrics=(PRIMARY_METRIC,)) -> list[dict]:
    """Rows of a scores table, typed, with the columns of `metrics`; a truncated or malformed
    table is an error naming it."""
    extra = proxy_columns(metrics)
    rows = []
    for line, row in enumerate(read_csv(path, TABLE_COLUMNS + extra), start=2):
        try:
            rows.append(
                {
                    "config": row["config"],
                    "cap": int(row["cap"]),
                    "params": int(row["params"]),
                    "sensitivity": float(row["sensitivity"]),
                    "seed": int(row["seed"]),
                    "n_images": int(row["n_images"]),
                    **{column: float(row[column]) for column in extra},
                }
            )
        except (TypeError, ValueError):
            raise ValueError(f"{path}: line {line} is incomplete or malformed: {row}") from None
    if not rows:
        raise ValueError(f"{path}: no candidate rows")
    return rows
