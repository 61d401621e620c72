"""The synthetic scenario writer: layout per kit, determinism, atomic output and realism."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from kdcs.data.synthetic import (
    GPS_SENSOR,
    SynthConfig,
    format_time_stamp,
    parse_kits,
    realism_report,
    synthesize,
)
from kdcs.phy.geodesy import latlon_to_east_north


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _tree_digest(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under root."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "tiny"
    synthesize(SynthConfig.tiny(seed=7), root, workers=1)
    return root


def test_layout_and_columns_follow_each_kit(tiny_root):
    # tiny(): 2 APs; ap1 = camera + radar + gps, ap2 = camera only.
    ap1 = _rows(tiny_root / "ap1" / "ap1.csv")
    ap2 = _rows(tiny_root / "ap2" / "ap2.csv")

    assert list(ap1[0].keys()) == [
        "index", "unit1_rgb", "unit1_radar", "unit1_pwr_60ghz", "unit1_loc", "unit2_loc", "unit2_loc_cal",
        "unit1_beam_index", "seq_index", "time_stamp[UTC]",
    ]  # fmt: skip
    assert list(ap2[0].keys()) == [
        "index",
        "unit1_rgb",
        "unit1_pwr_60ghz",
        "unit1_beam_index",
        "seq_index",
        "time_stamp[UTC]",
    ]
    assert not (tiny_root / "ap2" / "unit1" / "radar_data").exists()
    assert not (tiny_root / "ap2" / "unit2").exists()
    for rows in (ap1, ap2):
        assert [int(r["index"]) for r in rows] == list(range(1, 49))
        assert [int(r["seq_index"]) for r in rows] == [s for s in (1, 2, 3, 4) for _ in range(12)]
        assert all(
            cell.startswith("./")
            for r in rows
            for k, cell in r.items()
            if k.endswith(("rgb", "radar", "ghz", "loc", "cal"))
        )
    assert [r["time_stamp[UTC]"] for r in ap1] == [r["time_stamp[UTC]"] for r in ap2]


def test_every_cell_points_to_a_well_formed_file(tiny_root):
    # Prepare
    folder = tiny_root / "ap1"
    row = _rows(folder / "ap1.csv")[5]

    # Execute
    power = np.loadtxt(folder / row["unit1_pwr_60ghz"])
    image = Image.open(folder / row["unit1_rgb"])
    cube = scipy.io.loadmat(folder / row["unit1_radar"])["data"]
    bs = np.loadtxt(folder / row["unit1_loc"])
    ue = np.loadtxt(folder / row["unit2_loc"])
    ue_cal = np.loadtxt(folder / row["unit2_loc_cal"])

    # Assert
    assert power.shape == (64,) and np.all(power > 0)
    assert int(row["unit1_beam_index"]) == int(np.argmax(power)) + 1  # 1-based on disk
    assert image.size == (64, 36) and image.format == "JPEG"
    assert cube.shape == (4, 32, 8) and cube.dtype == np.complex64
    origin = np.array([33.4206, -111.9292])
    for latlon in (bs, ue, ue_cal):
        assert latlon.shape == (2,)
        assert np.linalg.norm(latlon_to_east_north(origin, latlon)) < 100.0  # metres from the origin


def test_time_stamps_advance_by_the_sample_period_within_a_sequence(tiny_root):
    rows = _rows(tiny_root / "ap1" / "ap1.csv")
    seconds = []
    for r in rows:
        hours, minutes, rest = r["time_stamp[UTC]"].split("-")
        seconds.append(int(hours) * 3600 + int(minutes) * 60 + float(rest))

    steps = np.diff(seconds[:12])

    assert rows[0]["time_stamp[UTC]"] == "11-00-00.000000"
    np.testing.assert_allclose(steps, 0.111, atol=1e-6)
    assert seconds[12] - seconds[11] > 10.0  # a gap between sequences
    assert format_time_stamp(11 * 3600 + 46 * 60 + 20.123456) == "11-46-20.123456"


def test_manifest_records_parameters_aps_and_counts(tiny_root):
    manifest = json.loads((tiny_root / "manifest.json").read_text())

    assert manifest["seed"] == 7
    assert manifest["counts"]["num_samples"] == 48 and manifest["counts"]["sequence_lengths"] == [12] * 4
    assert [ap["kit"] for ap in manifest["aps"]] == [["camera", "radar", "gps"], ["camera"]]
    assert manifest["config"]["codebook"]["array"]["carrier_frequency_hz"] == 60e9
    assert manifest["config"]["radar"]["num_chirps"] == 8
    assert len(manifest["codebook"]["beam_angles_rad"]) == 64
    assert manifest["aps"][0]["position_m"] != manifest["aps"][1]["position_m"]


def test_same_seed_gives_identical_files_whatever_the_worker_count(tmp_path, tiny_root):
    # Prepare / Execute: the module fixture used one worker in-process; this uses a 2-process pool.
    calls = []
    synthesize(
        SynthConfig.tiny(seed=7), tmp_path / "pool", workers=2, progress=lambda d, n: calls.append((d, n))
    )

    # Assert
    assert _tree_digest(tmp_path / "pool") == _tree_digest(tiny_root)
    assert calls[-1] == (4, 4) and len(calls) == 4


def test_different_seed_gives_different_data(tmp_path, tiny_root):
    synthesize(SynthConfig.tiny(seed=8), tmp_path / "other", workers=1)

    a = np.loadtxt(tiny_root / "ap1" / "unit1" / "mmWave_data" / "mmWave_power_1.txt")
    b = np.loadtxt(tmp_path / "other" / "ap1" / "unit1" / "mmWave_data" / "mmWave_power_1.txt")
    assert not np.array_equal(a, b)


def test_kits_are_configurable_and_cycle_over_the_aps(tmp_path):
    config = dataclasses.replace(SynthConfig.tiny(), num_aps=3, num_sequences=1, kits=((GPS_SENSOR,), ()))

    manifest = synthesize(config, tmp_path / "kits", workers=1)

    assert [ap["kit"] for ap in manifest["aps"]] == [["gps"], [], ["gps"]]
    assert "unit2_loc_cal" in _rows(tmp_path / "kits" / "ap3" / "ap3.csv")[0]
    assert list(_rows(tmp_path / "kits" / "ap2" / "ap2.csv")[0]) == [
        "index", "unit1_pwr_60ghz", "unit1_beam_index", "seq_index", "time_stamp[UTC]",
    ]  # fmt: skip


def test_refuses_a_non_empty_root_unless_overwrite(tmp_path):
    # Prepare
    root = tmp_path / "scenario"
    root.mkdir()
    (root / "keep.txt").write_text("user data")
    config = dataclasses.replace(SynthConfig.tiny(), num_sequences=1)

    # Execute / Assert: refused, nothing touched, no build folder left behind.
    with pytest.raises(FileExistsError, match="not empty"):
        synthesize(config, root, workers=1)
    assert (root / "keep.txt").read_text() == "user data"

    synthesize(config, root, workers=1, overwrite=True)
    assert not (root / "keep.txt").exists() and (root / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario"]


def test_an_empty_root_folder_is_filled(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()

    synthesize(dataclasses.replace(SynthConfig.tiny(), num_sequences=1), root, workers=1)

    assert (root / "ap1" / "ap1.csv").is_file()


def test_bad_config_is_rejected_before_anything_is_written(tmp_path):
    config = dataclasses.replace(SynthConfig.tiny(), kits=(("camera", "lidar"),))

    with pytest.raises(ValueError, match=r"kits\[0\].*'lidar'"):
        synthesize(config, tmp_path / "never", workers=1)
    assert list(tmp_path.iterdir()) == []


def test_realism_targets_on_a_medium_scenario(tmp_path):
    # Prepare: the default street and traffic, power only (the beam statistics do not depend on
    # the camera or radar), 24 sequences on 4 APs.
    config = dataclasses.replace(SynthConfig(), num_sequences=24, kits=((),), seed=0)
    synthesize(config, tmp_path / "medium", workers=1)

    # Execute
    report = realism_report(tmp_path / "medium")

    # Assert: DeepSense-like difficulty at every AP, yet geometry explains most labels.
    assert set(report["aps"]) == {"ap1", "ap2", "ap3", "ap4"}
    for stats in report["aps"].values():
        assert 0.5 <= stats["beam_change_rate"] <= 0.8
        assert stats["repeat_last_top1"] < 0.5
        assert stats["geometric_top5"] > 0.75
        assert stats["line_fit_top1"] > stats["repeat_last_top1"]


def test_the_deepsense_reader_reads_the_written_scenario(tiny_root):
    deepsense = pytest.importorskip("kdcs.data.deepsense.reader")

    tables = deepsense.read_scenario_set(tiny_root)

    assert list(tables) == ["ap1", "ap2"]
    assert tables["ap1"].modalities == ("camera", "radar", "power", "gps")
    assert tables["ap2"].modalities == ("camera", "power")
    beams = np.loadtxt(tiny_root / "ap1" / "unit1" / "mmWave_data" / "mmWave_power_1.txt").argmax()
    assert int(tables["ap1"].beam[0]) == int(beams)
    np.testing.assert_allclose(np.diff(tables["ap1"].time_s[:12]), 0.111, atol=1e-6)


def test_kits_parse_from_a_command_line_string():
    assert parse_kits("camera+radar+gps,camera,radar,gps") == SynthConfig().kits
    assert parse_kits("gps, none") == (("gps",), ())
    with pytest.raises(ValueError, match=r"kits\[1\].*'lidar'"):
        parse_kits("camera,lidar")
