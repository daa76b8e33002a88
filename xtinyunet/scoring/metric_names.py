"""The training-free scores a scoring job can compute (config `scoring.metrics`), by name.

Light on purpose: the workflow checks the config against these names when it is parsed, before
any job runs, so this module imports neither torch nor nnunetv2. xtinyunet/scoring/proxies.py
registers one function under each name; docs/proxies.md describes them.
"""

from __future__ import annotations

from collections.abc import Sequence

# The paper's score: its selection is the one trained, so every scoring job computes it.
PRIMARY_METRIC = "jacobian"

# Adding a proxy: one entry here and one function registered under the same name in proxies.py.
METRICS = {
    "jacobian": "input-Jacobian sensitivity, mean ||d sum(net(x))/dx||_2 (the paper's score)",
    "naswot": "log-determinant of the binary activation-code kernel (Mellor et al., 2021)",
    "swap": "number of distinct sample-wise activation patterns (Peng et al., 2024)",
    # The authors' further metrics (their score_net.py), defined as they define them.
    "ncd_naswot": "naswot on activation codes with 95 % of the units masked at random "
    "(the authors' NCD variant)",
    "ncd_swap": "swap on activation codes with 95 % of the units masked at random "
    "(the authors' NCD variant)",
    "az_nas": "expressivity + progressivity + trainability of the convolutions' features "
    "(AZ-NAS, Lee & Ham, CVPR 2024, as the authors adapt it)",
    "grad_norm": "sum over weight layers of ||d sum(net(x))/dW||_2 (Abdelfattah et al., 2021)",
    "snip": "sum over weights of |W * d sum(net(x))/dW| (Lee et al.; Abdelfattah et al., 2021)",
    "synflow": "log of the synaptic-flow score of the normalization-free, |W| network "
    "(Tanaka et al.; Abdelfattah et al., 2021)",
}


def check_metrics(names: Sequence[str]) -> None:
    """Raise ValueError unless `names` are known metrics, none twice, the primary among them."""
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise ValueError(
            f"unknown metric {', '.join(map(repr, unknown))}; known metrics: {', '.join(METRICS)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"a metric is listed twice in {list(names)}")
    if PRIMARY_METRIC not in names:
        raise ValueError(
            f"{list(names)} lacks {PRIMARY_METRIC!r}: its selection is the one trained"
        )


def score_column(metric: str) -> str:
    """The metric's column in the scores table; the paper's keeps its name, `sensitivity`."""
    return "sensitivity" if metric == PRIMARY_METRIC else metric


# scoring.precision values faster than float32 and less exact (xtinyunet/scoring/precision.py):
# the other metrics rely on exact activation signs or on float64 ranges (synflow).
LOWER_PRECISIONS = ("bfloat16", "tf32")


def check_precision_metrics(precision: str, names: Sequence[str]) -> None:
    """Raise ValueError naming scoring.precision if a lower precision meets another metric."""
    others = [name for name in names if name != PRIMARY_METRIC]
    if precision in LOWER_PRECISIONS and others:
        raise ValueError(
            f"scoring.precision {precision} scores the {PRIMARY_METRIC} only; scoring.metrics "
            f"also lists {', '.join(others)}"
        )
