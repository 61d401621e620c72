"""A recorded site's twin parameters fitted from its samples: a synthetic site with known street, AP pose,
beam order and traffic, written in the DeepSense layout (no manifest), must give them back."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kdcs.config import ConfigError
from kdcs.data.ap_geometry import data_geometry
from kdcs.data.prepared import DataConfig, prepare_data
from kdcs.data.synthetic import SynthConfig, synthesize
from kdcs.data.synthetic.site_fit import fit_site, inside_span, site_rows
from kdcs.phy.street import StreetConfig
from kdcs.phy.traffic import TrafficConfig

# A road running 34 degrees north of east, two 5 m lanes, the AP 15 m left of the centre line (street
# frame) and 4 m along it, looking back across the road, its beams numbered left to right.
KNOWN_AZIMUTH = np.deg2rad(34.0)
KNOWN_BORESIGHT = np.deg2rad(-100.0)
SITE = SynthConfig(
    num_aps=1,
    kits=(("gps",),),
    num_sequences=12,
    sequence_length_range=(30, 40),
    seed=5,
    street=StreetConfig(num_lanes=2, lane_width_m=5.0, ap_poses=((4.0, 15.0, 2.5, float(KNOWN_BORESIGHT)),)),
    traffic=dataclasses.replace(
        TrafficConfig(), initial_speed_range_mps=(5.0, 8.0), lane_change_probability=0.0,
        pass_center_range_m=(-3.0, 3.0), acceleration_noise_std_mps2=0.3,
    ),  # fmt: skip
    street_azimuth_rad=float(KNOWN_AZIMUTH),
    mirrored_beams=True,
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """The known site's AP folder without the manifest, as a DeepSense download comes."""
    root = tmp_path_factory.mktemp("site") / "synthetic"
    synthesize(SITE, root, workers=1)
    folder = root.parent / "deepsense"
    shutil.copytree(root / "ap1", folder)
    return folder


def prepared(folder: Path, cache: Path, ap: str | None = None):
    return prepare_data(
        DataConfig(scenario=str(folder), ap=ap, cache_root=str(cache), history=4, horizon=1, split=(0.6, 0.2, 0.2)),
        workers=1,
    )


def test_the_fit_recovers_the_known_street_ap_and_traffic(recorded, tmp_path):
    data = prepared(recorded, tmp_path)
    rows = site_rows(data, np.unique(data.windows["train"].seq_ids))

    fit = fit_site(data, rows, held_out_rows=np.unique(data.windows["val"].target_rows))

    config, report = fit.config, fit.report
    assert np.rad2deg(abs(config.street_azimuth_rad - KNOWN_AZIMUTH)) < 1.0, report
    assert config.street.lane_width_m == pytest.approx(5.0, abs=0.4)
    x, y, _, boresight = config.street.ap_poses[0]
    assert (x, y) == pytest.approx((0.0, 15.0), abs=0.4)  # x: the frame starts beside the AP (4 m off)
    assert np.rad2deg(abs(boresight - KNOWN_BORESIGHT)) < 1.0
    assert config.mirrored_beams is True
    assert report["lanes"]["directions_seen"] == 2 and report["street_axis_rms_error_deg"] < 2.0
    assert report["orientation"]["train"]["within1"] > 0.5 and report["orientation"]["val"]["samples"] > 0
    low, high = config.traffic.initial_speed_range_mps
    assert 4.0 < low <= high < 9.0
    centre_low, centre_high = config.traffic.pass_center_range_m
    assert -3.0 - 4.0 - 1.0 < centre_low <= centre_high < 3.0 - 4.0 + 1.0  # the AP is 4 m along
    assert config.sequence_length_range[0] >= 30 and config.sequence_length_range[1] <= 40
    assert config.kits == (("gps",),) and config.num_aps == 1
    # the span: where the fitted passes truly were along the road, counted from beside the AP
    truth = json.loads((recorded.parent / "synthetic" / "ground_truth.json").read_text())["columns"]
    fitted = np.isin(truth["index"], np.asarray(data.cache.arrays["index"])[rows])
    along = np.stack([truth["tx_x_m"], truth["tx_y_m"]], axis=-1)[fitted] @ [np.cos(KNOWN_AZIMUTH), np.sin(KNOWN_AZIMUTH)]
    ap_along = 4.0  # the AP's street x
    assert fit.span_m == pytest.approx((along.min() - ap_along, along.max() - ap_along), abs=1.0)


def test_a_twin_written_from_the_fit_stands_where_the_recorded_site_does(recorded, tmp_path):
    data = prepared(recorded, tmp_path / "cache")
    fit = fit_site(data, site_rows(data, np.unique(data.windows["train"].seq_ids)))
    twin_root = tmp_path / "twin"

    synthesize(dataclasses.replace(fit.config, seed=9, num_sequences=3), twin_root, workers=1)

    twin = prepared(twin_root, tmp_path / "cache", ap="ap1")
    np.testing.assert_allclose(twin.table.bs_latlon[0], data.table.bs_latlon[0], atol=1e-7)  # the same AP
    geometry, _ = data_geometry(twin)  # from the twin's manifest: world pose and beam order
    assert geometry.mirrored is True
    truth = json.loads((recorded.parent / "synthetic" / "manifest.json").read_text())["aps"][0]
    assert np.rad2deg(abs(geometry.pose.boresight_azimuth_rad - truth["boresight_azimuth_rad"])) < 1.0
    east_north = np.asarray(twin.cache.arrays["gps"])[:, :2]
    recorded_gps = np.asarray(data.cache.arrays["gps"])[:, :2]
    # the twin's passes run along the recorded road: inside the recorded span, within a few metres of
    # a recorded fix; outside it, farther
    inside = inside_span(twin_root, fit.config, fit.span_m, np.asarray(twin.cache.arrays["index"]))
    nearest = np.min(np.linalg.norm(east_north[:, None] - recorded_gps[None], axis=-1), axis=1)
    assert inside.any() and np.median(nearest[inside]) < 1.5
    assert np.all(nearest[~inside] > np.max(nearest[inside]) - 1.0)


def test_a_site_without_vehicle_gps_is_refused_by_name(tmp_path):
    root = tmp_path / "synthetic"
    synthesize(dataclasses.replace(SITE, kits=(("radar",),), num_sequences=3), root, workers=1)
    shutil.copytree(root / "ap1", tmp_path / "deepsense")
    data = prepared(tmp_path / "deepsense", tmp_path / "cache")

    with pytest.raises(ConfigError, match="unit2_loc"):
        fit_site(data, np.arange(len(data.table)))
