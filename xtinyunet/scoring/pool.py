"""Every candidate of one scores table in one job: one start-up, one read of the sample images.

On CPU the candidates run side by side in forked processes, widest first, each with the threads
a job of its own would get (its share of the job's cores by cost, or a fixed count), so that the
job's cores stay busy as Snakemake's scheduler would keep them with one job per candidate. Each
process writes its candidate's score record, the record a job of its own would write: same batch
size, same threads, so the same bits. On a GPU the candidates run one after the other here.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from multiprocessing.connection import wait
from pathlib import Path

import torch

from xtinyunet.plans.configuration import resolved_configuration
from xtinyunet.scoring.records import write_score_record
from xtinyunet.scoring.resources import candidate_threads, job_threads
from xtinyunet.scoring.sensitivity import check_options, load_sample_images, score_sample

log = logging.getLogger(__name__)


def score_every_candidate(
    preprocessed_dir,
    plans: dict,
    dataset_json: dict,
    records: dict[str, Path],
    seed: int,
    settings: dict,
    threads: int,
    threads_per_candidate: int | None = None,
) -> None:
    """Score each configuration of `records` (widest first) into its record file, with the
    job's `threads`; each candidate with `threads_per_candidate` threads or by default its share
    (xtinyunet.scoring.resources.candidate_threads), as a job of its own would have them."""
    check_options(
        settings["batch_size"], settings["device"], settings["precision"], settings["metrics"]
    )
    samples = {}

    def sample_for(configuration: str):
        # Candidates share the base configuration's data and patch size: read them once.
        config = resolved_configuration(plans, configuration)
        key = (config["data_identifier"], tuple(config["patch_size"]))
        if key not in samples:
            started = time.perf_counter()
            sample = load_sample_images(
                preprocessed_dir, plans, configuration, settings["num_images"], seed
            )
            samples[key] = sample, time.perf_counter() - started
        return samples[key]

    def score(configuration: str) -> None:
        sample, seconds_load = sample_for(configuration)
        score = score_sample(
            sample,
            plans,
            dataset_json,
            configuration,
            seed,
            settings["batch_size"],
            settings["device"],
            settings["precision"],
            settings["metrics"],
            seconds_load,
        )
        write_score_record(records[configuration], score, seed, settings)

    cores = job_threads(threads)
    needs = {
        configuration: min(
            cores, threads_per_candidate or candidate_threads(plans, configuration, threads)
        )
        for configuration in records
    }
    if settings["device"] == "cuda" or cores == 1:
        for configuration in records:
            torch.set_num_threads(needs[configuration])
            score(configuration)
        return
    for configuration in records:
        sample_for(configuration)  # before forking: each process then has the images
    side_by_side(needs, cores, score)


def side_by_side(needs: dict[str, int], cores: int, run) -> None:
    """run(name) for each name of `needs` in a forked process with needs[name] torch threads, in
    order, as many at once as `cores` allows; the first failure stops the others and is raised.

    Nothing here may run torch before forking: OpenMP's thread pool does not survive a fork.
    """
    context = multiprocessing.get_context("fork")
    waiting = list(needs)
    running: dict[int, tuple[str, multiprocessing.Process]] = {}
    free = cores
    try:
        while waiting or running:
            while waiting and needs[waiting[0]] <= free:
                name = waiting.pop(0)
                process = context.Process(
                    target=_with_threads, args=(run, name, needs[name]), name=name
                )
                process.start()
                running[process.sentinel] = name, process
                free -= needs[name]
                log.info("%s: started, threads %d (free: %d)", name, needs[name], free)
            for sentinel in wait(list(running)):
                name, process = running.pop(sentinel)
                process.join()
                free += needs[name]
                if process.exitcode != 0:
                    raise RuntimeError(
                        f"{name}: scoring failed (exit code {process.exitcode}; its error is "
                        f"in the lines above)"
                    )
    finally:
        for _, process in running.values():
            process.kill()
            process.join()


def _with_threads(run, name: str, threads: int) -> None:
    torch.set_num_threads(threads)
    run(name)
