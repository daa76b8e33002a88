"""The cost ledger: what the training-free selection cost against training every width.

The paper's claim has two halves: the knee lands on the plateau, and finding it costs a few
forward/backward passes instead of a train-and-evaluate cycle per width. The ledger sums
Snakemake's benchmark files of the jobs of each side.
"""

from __future__ import annotations

from pathlib import Path

from xtinyunet.io import read_csv, read_json, write_csv

COLUMNS = [
    "stage",
    "jobs",
    "wall_seconds",
    "cpu_seconds",
    "device",
    "device_seconds",
    "device_seconds_vs_selection",
]
SELECTION = "selection (scoring every width + knee)"
SWEEP = "sweep (training, predicting and evaluating every width)"


def read_benchmark(path) -> dict:
    """Wall and CPU seconds of one Snakemake benchmark file (its last, i.e. latest, row)."""
    rows = read_csv(path, required_columns=("s", "cpu_time"), delimiter="\t")
    if not rows:
        raise ValueError(f"{path}: benchmark file without a measurement")
    return {"wall": float(rows[-1]["s"]), "cpu": float(rows[-1]["cpu_time"])}


def recorded_device(records: list) -> str:
    """The device the jobs of a stage ran on, as their records state it (a score record's
    settings.device, an evaluation summary's device): `cpu`, `cuda`, or both joined by `+`."""
    devices = set()
    for path in records:
        record = read_json(path)
        device = record.get("settings", record).get("device")
        if device not in ("cpu", "cuda"):
            raise ValueError(f"{path}: no device recorded (cpu or cuda), got {device!r}")
        devices.add(device)
    return "+".join(sorted(devices))


def stage_cost(stage: str, benchmarks: list, device: str) -> dict:
    """One ledger row. Device seconds are CPU seconds where every job ran on the CPU, and the
    jobs' wall time (one GPU per job) where they ran on GPUs, the resource each side competes
    for."""
    measured = [read_benchmark(path) for path in benchmarks]
    wall = sum(m["wall"] for m in measured)
    cpu = sum(m["cpu"] for m in measured)
    return {
        "stage": stage,
        "jobs": len(measured),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "device": device,
        "device_seconds": round(cpu if device == "cpu" else wall, 2),
    }


def cost_ledger(
    selection_benchmarks: list,
    sweep_benchmarks: list | None,
    score_records: list,
    sweep_summaries: list,
) -> list[dict]:
    """The selection's row and, when the sweep was trained, the sweep's with the ratio of
    their device seconds; otherwise a row that says the sweep was not trained. Each row's
    device is the one its jobs' records state."""
    selection = stage_cost(SELECTION, selection_benchmarks, recorded_device(score_records))
    selection["device_seconds_vs_selection"] = 1.0
    if not sweep_benchmarks:
        return [selection, {"stage": f"{SWEEP}: not trained (training.sweep), nothing to compare"}]
    sweep = stage_cost(SWEEP, sweep_benchmarks, recorded_device(sweep_summaries))
    sweep["device_seconds_vs_selection"] = round(
        sweep["device_seconds"] / max(selection["device_seconds"], 1e-9), 1
    )
    return [selection, sweep]


def write_cost_ledger(path, rows: list[dict]) -> None:
    write_csv(Path(path), rows, COLUMNS)
