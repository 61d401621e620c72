"""The street plot: the four default APs, a straight track and beams that point at the vehicle."""

from __future__ import annotations

import numpy as np
from PIL import Image

from kdcs.experiments.report.plots.street import ApTrack, label_side, plot_street
from tests.unit.test_phy_ap_geometry import default_geometries


def test_street_plot_draws_every_ap_and_the_track(tmp_path):
    track = np.stack([np.linspace(-20.0, 20.0, 12), np.full(12, 4.0)], axis=1)
    shown = []
    for geometry in default_geometries():
        true = geometry.nearest_beam(track)  # line of sight: the beam towards the vehicle
        predicted = true.copy()
        predicted[::3] = np.clip(predicted[::3] + 2, 0, geometry.num_beams - 1)  # a few misses
        shown.append(ApTrack(geometry, predicted, true, "test model"))

    path = plot_street(track, shown, "four APs", tmp_path / "street.png")

    image = np.asarray(Image.open(path).convert("RGB"))
    assert image.shape[0] > 400 and image.shape[1] > 400
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20  # more than a blank canvas and text


def test_an_ap_name_runs_toward_the_street():
    track = np.stack([np.linspace(-5.0, 10.0, 8), np.full(8, 2.0)], axis=1)
    east_end, align = label_side(np.array([18.0, 29.0]), track)  # ap4's corner: text must not leave the axes
    assert align == "right" and east_end[0] < 0 < east_end[1]
    west_end, align = label_side(np.array([-18.0, -22.0]), track)
    assert align == "left" and west_end[0] > 0
