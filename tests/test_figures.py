"""``results.write_figure``: one tight box for both formats, the crop matplotlib's
``bbox_inches="tight"`` makes of each."""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from springblock import results  # noqa: E402


def figure():
    """Panels with colour bars, titles and a suptitle: text reaching past the axes, so the
    tight box differs from the figure's own."""
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    for ax in axes:
        image = ax.imshow(np.arange(12.0).reshape(3, 4))
        fig.colorbar(image, ax=ax)
        ax.set_title(r"$\alpha$ against the knob")
        ax.set_xlabel("knob value")
    fig.suptitle("a suptitle reaching past the panels")
    fig.tight_layout()
    return fig


def media_box(pdf: bytes) -> np.ndarray:
    (box,) = re.findall(rb"/MediaBox \[([^\]]*)\]", pdf)
    return np.array(box.split(), float)


def test_both_formats_are_cropped_as_matplotlib_crops_each(tmp_path):
    reference = figure()
    png, pdf = io.BytesIO(), io.BytesIO()
    reference.savefig(png, format="png", dpi=results.FIGURE_DPI, bbox_inches="tight")
    reference.savefig(pdf, format="pdf", bbox_inches="tight")
    plt.close(reference)

    fig = figure()
    paths = results.write_figure(fig, tmp_path, "panels")
    assert paths == [str(tmp_path / "panels.png"), str(tmp_path / "panels.pdf")]
    assert not plt.fignum_exists(fig.number)  # closed
    ours = np.asarray(Image.open(paths[0]))
    theirs = np.asarray(Image.open(png))
    # the box is computed at the PNG's resolution: the same pixels
    assert ours.shape == theirs.shape and np.array_equal(ours, theirs)
    # the PDF renderer measures text a little differently: its own tight page is within a
    # point (1/72 inch) of the shared box; a box computed at another resolution or without
    # the padding is off by several points
    with open(paths[1], "rb") as f:
        np.testing.assert_allclose(media_box(f.read()), media_box(pdf.getvalue()), atol=1.0)
