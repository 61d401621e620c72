"""Unit tests for kdcs.data.cache.build: building, reusing, detecting stale/partial caches, decode errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from kdcs.data.cache.build import cache_status, open_cache, prepare
from kdcs.data.deepsense.reader import read_scenario
from kdcs.data.errors import DataError
from kdcs.data.preprocess import PreprocessConfig
from kdcs.data.windows import WindowBatcher, WindowSpec, build_windows
from tests.fixtures.scenario_factory import (
    blob_column,
    cell_file,
    expected_beams,
    make_scenario,
    truncate_image,
)

SMALL = PreprocessConfig(camera_size=(32, 32), radar_size=(16, 16))


@pytest.fixture
def scenario(tmp_path) -> Path:
    return make_scenario(tmp_path / "scen", num_sequences=3, sequence_length=12)


def _leftovers(cache_dir: Path) -> list[str]:
    return sorted(p.name for p in cache_dir.parent.iterdir() if p.name.startswith(cache_dir.name))


# ------------------------------------------------------------------------------------------ building


def test_prepare_builds_every_array_with_known_values(scenario, tmp_path):
    table = read_scenario(scenario)

    handle = prepare(table, tmp_path / "cache", SMALL, workers=1)

    arrays, beams = handle.arrays, expected_beams(3, 12)
    assert handle.status == "built" and handle.rebuilt_reason == "missing"
    assert handle.num_samples == 36 and handle.modalities == ("camera", "radar", "power", "gps")
    assert arrays["beam"].dtype == np.int16 and np.array_equal(arrays["beam"], beams)
    assert np.array_equal(arrays["index"], np.arange(1, 37)) and np.array_equal(
        arrays["seq_index"], np.repeat([1, 2, 3], 12)
    )
    assert np.allclose(np.diff(arrays["time_s"][:12]), 0.111, atol=1e-6)
    assert np.array_equal(np.argmax(arrays["power"], axis=1), beams)
    assert arrays["camera"].shape == (36, 32, 32) and arrays["camera"].dtype == np.uint8
    blob = np.argmax(arrays["camera"].mean(axis=1), axis=1)  # brightest column of each frame
    assert np.all(np.abs(blob - [blob_column(b, 32) for b in beams]) <= 1)
    assert arrays["radar"].shape == (36, 16, 16) and arrays["radar"].dtype == np.float16
    np.testing.assert_allclose(arrays["gps"][:2, :2], [[-30.0, 20.0], [-28.89, 20.0]], atol=0.01)
    np.testing.assert_allclose(arrays["gps"][12, 1], 23.0, atol=0.01)  # odd sequences one lane north
    assert handle.sequence_bounds() == [(1, 0, 12), (2, 12, 24), (3, 24, 36)]


def test_motion_masks_restart_at_every_sequence(scenario, tmp_path):
    handle = prepare(read_scenario(scenario), tmp_path / "cache", SMALL, workers=1)

    moving = handle.arrays["camera_motion"].reshape(36, -1).sum(axis=1)

    assert set(np.unique(handle.arrays["camera_motion"])) <= {0, 1}
    assert moving[[0, 12, 24]].tolist() == [0, 0, 0]
    assert np.all(np.delete(moving, [0, 12, 24]) > 0)  # the blob moves one beam per step


def test_pool_and_single_process_builds_are_identical(scenario, tmp_path):
    table = read_scenario(scenario)

    single = prepare(table, tmp_path / "one", SMALL, workers=1)
    pooled = prepare(table, tmp_path / "two", SMALL, workers=2)

    for name in single.arrays:
        assert np.array_equal(single.arrays[name], pooled.arrays[name]), name


def test_progress_reports_every_decoded_file(scenario, tmp_path):
    calls = []

    prepare(
        read_scenario(scenario),
        tmp_path / "cache",
        SMALL,
        workers=2,
        progress=lambda d, n: calls.append((d, n)),
    )

    assert calls[-1] == (72, 72)  # 36 frames + 36 radar files
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_radar_npy_maps_and_modality_subset(tmp_path):
    folder = make_scenario(
        tmp_path / "scen", modalities=("radar", "beam"), radar_format="npy", num_sequences=2
    )

    handle = prepare(read_scenario(folder), tmp_path / "cache", SMALL, workers=1, modalities=["radar"])

    assert handle.modalities == ("radar",)
    assert set(handle.arrays) == {"index", "seq_index", "beam", "time_s", "radar"}
    assert np.all(np.isfinite(handle.arrays["radar"].astype(np.float32)))


def test_asking_for_an_absent_modality_names_it(tmp_path):
    folder = make_scenario(tmp_path / "scen", modalities=("power", "beam"), num_sequences=1)

    with pytest.raises(DataError, match="no 'camera' data"):
        prepare(read_scenario(folder), tmp_path / "cache", SMALL, modalities=["camera"])


def test_cache_feeds_the_window_batcher(scenario, tmp_path):
    handle = prepare(read_scenario(scenario), tmp_path / "cache", SMALL, workers=1)
    spec = WindowSpec(history=8, horizon=3)
    windows = build_windows(handle.arrays["seq_index"], spec)

    batch = next(iter(WindowBatcher(handle, windows, spec, ["camera", "beam_history"], batch_size=64)))

    beams = expected_beams(3, 12)
    assert batch["camera"].shape == (6, 8, 32, 32)  # 12 - 8 - 3 + 1 = 2 windows per sequence
    assert batch["window_end"].tolist() == [7, 8, 19, 20, 31, 32]
    assert (
        batch["target"][0].tolist() == beams[7:11].tolist()
        and batch["target"][5].tolist() == beams[32:36].tolist()
    )
    assert batch["beam_history"][0].tolist() == [64, *beams[0:7].tolist()]


# ------------------------------------------------------------------------------ reuse and staleness


def test_fresh_cache_is_reused_and_force_rebuilds(scenario, tmp_path):
    table, cache_dir = read_scenario(scenario), tmp_path / "cache"
    prepare(table, cache_dir, SMALL, workers=1)

    reused = prepare(table, cache_dir, SMALL, workers=1)
    forced = prepare(table, cache_dir, SMALL, workers=1, force=True)

    assert cache_status(table, cache_dir, SMALL) == "fresh"
    assert (reused.status, reused.rebuilt_reason) == ("reused", None)
    assert (forced.status, forced.rebuilt_reason) == ("rebuilt", "forced")
    assert _leftovers(cache_dir) == ["cache"]


def test_changed_parameters_make_the_cache_stale(scenario, tmp_path):
    table, cache_dir = read_scenario(scenario), tmp_path / "cache"
    prepare(table, cache_dir, SMALL, workers=1)
    bigger = PreprocessConfig(camera_size=(48, 40), radar_size=(16, 16))

    status = cache_status(table, cache_dir, bigger)
    handle = prepare(table, cache_dir, bigger, workers=1)

    assert status == "stale: preprocessing parameter camera_size changed ([32, 32] -> [48, 40])"
    assert handle.status == "rebuilt" and handle.rebuilt_reason == status
    assert handle.arrays["camera"].shape == (36, 48, 40)


def test_an_edited_source_file_makes_the_cache_stale(scenario, tmp_path):
    cache_dir = tmp_path / "cache"
    prepare(read_scenario(scenario), cache_dir, SMALL, workers=1)
    image = cell_file(scenario, 4, "unit1_rgb")
    stat = image.stat()
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    status = cache_status(read_scenario(scenario), cache_dir, SMALL)

    assert status.startswith("stale: source files changed")


def test_a_missing_manifest_or_truncated_array_is_partial_and_rebuilt(scenario, tmp_path):
    table, cache_dir = read_scenario(scenario), tmp_path / "cache"
    prepare(table, cache_dir, SMALL, workers=1)
    camera = cache_dir / "camera.npy"
    camera.write_bytes(camera.read_bytes()[:-100])

    truncated_status = cache_status(table, cache_dir, SMALL)
    (cache_dir / "manifest.json").unlink()
    no_manifest_status = cache_status(table, cache_dir, SMALL)
    handle = prepare(table, cache_dir, SMALL, workers=1)

    assert truncated_status == "partial: array 'camera' is truncated"
    assert no_manifest_status.startswith("partial: no manifest.json")
    assert handle.rebuilt_reason == no_manifest_status
    assert cache_status(table, cache_dir, SMALL) == "fresh"


def test_manifest_records_fingerprint_config_and_layout(scenario, tmp_path):
    prepare(read_scenario(scenario), tmp_path / "cache", SMALL, workers=1)

    manifest = json.loads((tmp_path / "cache" / "manifest.json").read_text())

    assert manifest["format_version"] == 1 and manifest["num_samples"] == 36
    assert manifest["config"]["camera_size"] == [32, 32] and len(manifest["fingerprint"]) == 64
    assert manifest["arrays"]["camera"] == {"shape": [36, 32, 32], "dtype": "uint8"}
    assert manifest["table"]["name"] == "scen"


# ------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("workers", [1, 2])
def test_a_corrupt_jpeg_names_line_column_and_file_and_leaves_nothing(scenario, tmp_path, workers):
    bad = truncate_image(scenario, 6)
    cache_dir = tmp_path / "cache"

    with pytest.raises(DataError) as caught:  # reader checks off: the cache's own full decode must catch it
        prepare(read_scenario(scenario, check_images=False), cache_dir, SMALL, workers=workers)

    message = str(caught.value)
    assert "line 6 (header is line 1)" in message and "'unit1_rgb'" in message and str(bad) in message
    assert _leftovers(cache_dir) == []


def test_a_cut_off_radar_file_names_line_and_column(scenario, tmp_path):
    radar = cell_file(scenario, 30, "unit1_radar")
    radar.write_bytes(
        radar.read_bytes()[: radar.stat().st_size * 2 // 3]
    )  # header intact: the reader passes it

    with pytest.raises(
        DataError, match=r"line 30 .*'unit1_radar': cannot decode radar file .*radar_data_29.mat"
    ):
        prepare(read_scenario(scenario), tmp_path / "cache", SMALL, workers=1)


def test_a_decode_error_keeps_the_previous_cache(scenario, tmp_path):
    cache_dir = tmp_path / "cache"
    prepare(read_scenario(scenario), cache_dir, SMALL, workers=1)
    before = (cache_dir / "manifest.json").read_text()
    truncate_image(scenario, 3)

    with pytest.raises(DataError, match="cannot decode image"):
        prepare(read_scenario(scenario, check_images=False), cache_dir, SMALL, workers=2)

    assert (cache_dir / "manifest.json").read_text() == before
    assert _leftovers(cache_dir) == ["cache"]


def test_prepare_refuses_to_replace_a_folder_that_is_not_a_cache(scenario, tmp_path):
    cache_dir = tmp_path / "precious"
    cache_dir.mkdir()
    (cache_dir / "thesis.tex").write_text("do not delete")

    with pytest.raises(DataError, match="not a kdcs cache"):
        prepare(read_scenario(scenario), cache_dir, SMALL, workers=1)
    assert (cache_dir / "thesis.tex").is_file()


def test_open_cache_without_manifest_raises(tmp_path):
    (tmp_path / "empty").mkdir()

    with pytest.raises(DataError, match="manifest.json missing"):
        open_cache(tmp_path / "empty")


def test_abandoned_build_folders_are_cleaned(scenario, tmp_path):
    abandoned = tmp_path / "cache.tmp-999999999"  # no such process
    abandoned.mkdir()
    (abandoned / "camera.npy").write_bytes(b"half written")

    prepare(read_scenario(scenario), tmp_path / "cache", SMALL, workers=1)

    assert _leftovers(tmp_path / "cache") == ["cache"]


# ---------------------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_scenario5_gps_and_power(deepsense_scenario5, tmp_path):
    table = read_scenario(deepsense_scenario5)

    handle = prepare(table, tmp_path / "cache", PreprocessConfig(), workers=1)

    assert handle.modalities == ("power", "gps") and handle.num_samples == 2300
    assert np.array_equal(np.argmax(handle.arrays["power"], axis=1), handle.arrays["beam"])
    ranges = handle.arrays["gps"][:, 2]
    assert 0 < ranges.min() and ranges.max() < 500  # metres from the base station on one street


def test_batches_read_from_disk_equal_batches_from_memory(scenario, tmp_path):
    handle = prepare(read_scenario(scenario), tmp_path / "cache", SMALL, workers=1)
    spec = WindowSpec(history=4, horizon=2)
    windows = build_windows(handle.arrays["seq_index"], spec)
    names = ["camera", "camera_motion", "radar", "gps", "beam_history"]

    from_memory = next(iter(WindowBatcher(handle, windows, spec, names, batch_size=16, in_memory=True)))
    from_disk = next(iter(WindowBatcher(handle, windows, spec, names, batch_size=16, in_memory=False)))

    assert from_memory["radar"].dtype == from_disk["radar"].dtype
    for name in (*names, "target", "target_power", "window_end"):
        assert bool((from_memory[name] == from_disk[name]).all()), name
