"""AP geometry from a scenario folder: the synthetic manifest, or an orientation fitted as for DeepSense."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kdcs.data.ap_geometry import (
    GeometryError,
    data_geometry,
    fit_orientation,
    table_frame,
    vehicle_world_positions,
)
from kdcs.data.prepared import DataConfig, prepare_data
from kdcs.data.synthetic import SynthConfig, synthesize

GPS_ONLY = SynthConfig(num_aps=2, kits=(("gps",),), num_sequences=10, sequence_length_range=(16, 16), seed=3)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("geometry") / "scenario"
    synthesize(GPS_ONLY, root, workers=1)
    return root


def prepared(root: Path, ap: str, cache: Path):
    config = DataConfig(
        scenario=str(root), ap=ap, cache_root=str(cache), history=4, horizon=1, split=(0.6, 0.2, 0.2)
    )
    return prepare_data(config, workers=1)


def truth(root: Path, ap: str) -> dict:
    return next(
        entry for entry in json.loads((root / "manifest.json").read_text())["aps"] if entry["name"] == ap
    )


def test_manifest_gives_every_ap_its_pose(scenario, tmp_path):
    for ap in ("ap1", "ap2"):
        geometry, fit = data_geometry(prepared(scenario, ap, tmp_path))

        assert fit is None
        assert geometry.pose.boresight_azimuth_rad == pytest.approx(
            truth(scenario, ap)["boresight_azimuth_rad"]
        )
        np.testing.assert_allclose(geometry.pose.position_m, truth(scenario, ap)["position_m"])
        assert geometry.target_height_m == GPS_ONLY.traffic.transmitter_antenna_height_m


def test_vehicle_positions_land_in_the_world_frame_at_every_ap(scenario, tmp_path):
    # Prepare: the same instants logged at two APs, each caching GPS relative to itself
    one, two = prepared(scenario, "ap1", tmp_path), prepared(scenario, "ap2", tmp_path)
    frame = table_frame(one.table)
    ground_truth = json.loads((scenario / "ground_truth.json").read_text())["columns"]

    # Execute
    at_one, at_two = vehicle_world_positions(one, frame), vehicle_world_positions(two, frame)

    # Assert: one position whatever AP logged it, within the GPS error of the true track
    np.testing.assert_allclose(at_one, at_two, atol=1e-3)
    true_xy = np.stack([ground_truth["tx_x_m"], ground_truth["tx_y_m"]], axis=-1)
    assert np.median(np.linalg.norm(at_one - true_xy[: len(at_one)], axis=-1)) < 1.0


def test_fitted_orientation_recovers_the_known_one_in_deepsense_layout(scenario, tmp_path):
    # Prepare: the same folders without the manifest, as a DeepSense download comes
    folder = tmp_path / "deepsense"
    folder.mkdir()
    shutil.copytree(scenario / "ap1", folder / "ap1")
    known = truth(scenario, "ap1")

    # Execute
    geometry, fit = data_geometry(prepared(folder / "ap1", None, tmp_path / "cache"))

    # Assert: the boresight within half a degree, the beam order right, and the fit's error reported
    error_deg = np.rad2deg(abs(fit.boresight_azimuth_rad - known["boresight_azimuth_rad"]))
    assert error_deg < 0.5, fit.to_dict()
    assert fit.mirrored is False
    assert fit.train["within1"] > 0.5 and fit.val["samples"] > 0
    np.testing.assert_allclose(geometry.pose.position_m[:2], 0.0, atol=1e-6)  # the AP is the frame's origin


def test_fit_finds_a_mirrored_codebook(scenario, tmp_path):
    data = prepared(scenario, "ap2", tmp_path)
    known, _ = data_geometry(data)
    gps, beams = np.asarray(data.cache.arrays["gps"]), np.asarray(data.cache.arrays["beam"])

    _, fit = fit_orientation("ap2", known.pose.position_m, known.codebook, gps[:, 3], 63 - beams)

    assert fit.mirrored is True
    assert np.rad2deg(abs(fit.boresight_azimuth_rad - known.pose.boresight_azimuth_rad)) < 0.5


def test_missing_geometry_is_named(scenario, tmp_path):
    # Prepare: a copy of the manifest without ap2's orientation
    folder = tmp_path / "broken"
    folder.mkdir()
    shutil.copytree(scenario / "ap2", folder / "ap2")
    manifest = json.loads((scenario / "manifest.json").read_text())
    del manifest["aps"][1]["boresight_azimuth_rad"]
    (folder / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(GeometryError, match="'ap2' has no 'boresight_azimuth_rad'"):
        data_geometry(prepared(folder / "ap2", None, tmp_path / "cache"))
