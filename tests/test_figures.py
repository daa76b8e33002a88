"""The paper's figures are drawn from their inputs and written as PNG and PDF."""

import numpy as np

from xtinyunet.reporting.figures import plot_qualitative, plot_selection_robustness


def is_png_and_pdf(png, pdf):
    return png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:4] == b"%PDF"


def test_robustness_over_seeds_and_k(tmp_path):
    selections = [
        {"seed": seed, "n_images": k, "cap": cap}
        for seed, k, cap in [(1, 4, 8), (42, 4, 16), (1, 40, 8), (42, 40, 8)]
    ]
    png, pdf = tmp_path / "r.png", tmp_path / "r.pdf"
    plot_selection_robustness(selections, "robustness", [png, pdf])
    assert is_png_and_pdf(png, pdf)


def test_qualitative_gray_and_colour(tmp_path):
    reference = np.zeros((16, 16), dtype=np.uint8)
    reference[4:9, 4:9] = 1
    predictions = {"XTinyU-Net": np.roll(reference, 1, axis=0), "nnU-Net": reference}
    for channels in (1, 3):
        image = np.random.default_rng(0).random((channels, 16, 16))
        png, pdf = tmp_path / f"q{channels}.png", tmp_path / f"q{channels}.pdf"
        plot_qualitative(image, reference, predictions, "case", [png, pdf])
        assert is_png_and_pdf(png, pdf)
