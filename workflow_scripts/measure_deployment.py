import os
from pathlib import Path

from xtinyunet.jobs import log_to

log_to(snakemake.log[0])
# Only the child processes that measure load nnU-Net and torch; they inherit this environment.
os.environ.update(snakemake.params.env)

from xtinyunet.deployment.measure import measure_model

settings = snakemake.params.settings
measure_model(
    snakemake.input.record,
    snakemake.input.onnx,
    snakemake.input.reference,
    snakemake.params.model_folder,
    Path(snakemake.input.raw).parent,
    snakemake.output[0],
    threads=settings["threads"],
    repeats=settings["repeats"],
    batch_size=settings["batch_size"],
    sliding_window_images=settings["sliding_window_images"],
)
