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

from kdcs.data.deepsense.reader import read_scenario_set
from kdcs.data.synthetic import (
    GPS_SENSOR,
    SynthConfig,
    format_time_stamp,
    parse_kits,
    realism_report,
    synthesize,
)
from kdcs.data.windows import WindowSpec, build_windows
from kdcs.eval.dataset_summary import beam_change_stats
from kdcs.eval.floors import floor_rankings
from kdcs.eval.metrics import topk_accuracy
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


def test_manifest_names_each_label_cause_with_its_config_keys(tiny_root):
    manifest = json.loads((tiny_root / "manifest.json").read_text())
    physics = manifest["label_physics"]

    assert set(physics) == {
        "sweep_measurement_noise",
        "multipath",
        "speed_changes",
        "lateral_motion",
        "blockage",
    }
    for cause in physics.values():
        assert cause["what"]
        for key, value in cause["config_keys"].items():
            section, field = key.split(".")
            assert manifest["config"][section][field] == value  # the same number a --set key changes


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


def _inspect_statistics(root: Path) -> dict[str, dict[str, float]]:
    """Per AP, what `kdcs data inspect` reports (L=8, J=3), with the floors over every window."""
    geometry = realism_report(root)["aps"]
    out = {}
    for name, table in read_scenario_set(root).items():
        changes = beam_change_stats(table)
        ends = build_windows(table.seq_index, WindowSpec(8, 3)).end_rows
        targets = table.beam[ends[:, None] + np.arange(4)]
        ranked = floor_rankings(table.beam, table.seq_index, ends, 8, 3, table.num_beams)["linear_fit"]
        line_fit = topk_accuracy(ranked, targets, ks=(1, 5))
        out[name] = {
            "change_rate": changes["change_rate"],
            "mean_abs_change": changes["mean_abs_change"],
            "line_fit_top1": float(line_fit[1].mean()),
            "line_fit_top5": float(line_fit[5].mean()),
            "geometric_top1": geometry[name]["geometric_top1"],
            "geometric_top5": geometry[name]["geometric_top5"],
        }
    return out


def test_the_default_physics_gives_deepsense_like_statistics_on_a_small_scenario(tmp_path):
    # Prepare: the default street, link, sweep and traffic, power only, 30 sequences on 4 APs.
    config = dataclasses.replace(SynthConfig(), num_sequences=30, kits=((),), seed=0)
    synthesize(config, tmp_path / "small", workers=1)

    # Execute
    stats = _inspect_statistics(tmp_path / "small")
    pooled = {key: float(np.mean([ap[key] for ap in stats.values()])) for key in stats["ap1"]}

    # Assert: DeepSense scenario 9 (change 0.746, |change| 1.73, line fit top-1 0.197, top-5 0.795)
    # sits inside these bands; the default before calibration (line fit 0.414 / 0.925) does not.
    # Bands are wider than the default scenario's targets: 30 sequences are few (seeds 0-3 of this
    # size pooled: change 0.80-0.82, |change| 1.73-2.04, top-1 0.23-0.25, top-5 0.80-0.82).
    assert set(stats) == {"ap1", "ap2", "ap3", "ap4"}
    assert 0.70 <= pooled["change_rate"] <= 0.88
    assert 1.3 <= pooled["mean_abs_change"] <= 2.2
    assert 0.15 <= pooled["line_fit_top1"] <= 0.32
    assert 0.75 <= pooled["line_fit_top5"] <= 0.90
    # Learnable: the true geometry names the label far more often than the beam history's line does.
    assert pooled["geometric_top1"] > pooled["line_fit_top1"] + 0.15
    assert pooled["geometric_top5"] > 0.90  # seeds 0-3: 0.94-0.95
    for ap in stats.values():
        assert ap["geometric_top1"] > ap["line_fit_top1"] + 0.1


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
