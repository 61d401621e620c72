"""Skip-bad-rows reaches the cache's own decode: a row whose file passes the reader's checks but
does not decode is left out (named in the manifest) instead of stopping the whole prepare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kdcs.data.cache.build import cached_table, prepare
from kdcs.data.deepsense.reader import read_scenario
from kdcs.data.errors import DataError
from kdcs.data.preprocess import PreprocessConfig
from tests.fixtures.scenario_factory import cell_file, make_scenario, truncate_image

SMALL = PreprocessConfig(camera_size=(32, 32), radar_size=(16, 16))


@pytest.fixture
def scenario(tmp_path) -> Path:
    return make_scenario(tmp_path / "scen", num_sequences=3, sequence_length=12)


def _cut_radar(folder: Path, csv_row: int) -> Path:
    radar = cell_file(folder, csv_row, "unit1_radar")
    radar.write_bytes(
        radar.read_bytes()[: radar.stat().st_size * 2 // 3]
    )  # header intact: the reader passes it
    return radar


@pytest.mark.parametrize("workers", [1, 2])
def test_undecodable_rows_are_left_out_and_named(scenario, tmp_path, workers):
    truncate_image(scenario, 6)  # index 5
    _cut_radar(scenario, 30)  # index 29
    table = read_scenario(scenario, check_images=False)

    handle = prepare(table, tmp_path / "cache", SMALL, workers=workers, skip_undecodable=True)

    left_out = handle.manifest["undecodable"]
    assert [(row["csv_row"], row["index"], row["column"]) for row in left_out] == [
        (6, "5", "unit1_rgb"),
        (30, "29", "unit1_radar"),
    ]
    assert "cannot decode image" in left_out[0]["reason"] and "radar_data_29.mat" in left_out[1]["reason"]
    kept = cached_table(table, handle)
    assert handle.num_samples == len(kept) == 34
    assert np.array_equal(handle.arrays["index"], kept.index)
    assert 5 not in kept.index and 29 not in kept.index
    assert [row.csv_row for row in kept.skipped] == [6, 30]


def test_the_kept_rows_are_what_a_build_without_them_holds(scenario, tmp_path):
    truncate_image(scenario, 6)
    table = read_scenario(scenario, check_images=False)

    skipped = prepare(table, tmp_path / "skip", SMALL, workers=1, skip_undecodable=True)
    clean = prepare(cached_table(table, skipped), tmp_path / "clean", SMALL, workers=1)

    for name in clean.arrays:
        assert np.array_equal(skipped.arrays[name], clean.arrays[name]), name


def test_the_same_source_reuses_the_cache_and_a_run_that_keeps_bad_rows_fails(scenario, tmp_path):
    truncate_image(scenario, 6)
    table = read_scenario(scenario, check_images=False)
    cache_dir = tmp_path / "cache"
    prepare(table, cache_dir, SMALL, workers=1, skip_undecodable=True)
    before = (cache_dir / "manifest.json").read_text()

    again = prepare(read_scenario(scenario, check_images=False), cache_dir, SMALL, skip_undecodable=True)
    with pytest.raises(DataError, match=r"line 6 .*'unit1_rgb': cannot decode image"):
        prepare(read_scenario(scenario, check_images=False), cache_dir, SMALL, workers=1)

    assert again.status == "reused"
    assert (cache_dir / "manifest.json").read_text() == before  # the failed run left it as it was


def test_a_repaired_file_makes_the_cache_stale(scenario, tmp_path):
    image = cell_file(scenario, 6, "unit1_rgb")
    original = image.read_bytes()
    truncate_image(scenario, 6)
    cache_dir = tmp_path / "cache"
    prepare(read_scenario(scenario, check_images=False), cache_dir, SMALL, workers=1, skip_undecodable=True)
    image.write_bytes(original)

    repaired = prepare(read_scenario(scenario), cache_dir, SMALL, workers=1, skip_undecodable=True)

    assert repaired.status == "rebuilt" and repaired.num_samples == 36
    assert json.loads((cache_dir / "manifest.json").read_text())["undecodable"] == []


def test_no_decodable_row_is_one_error(tmp_path):
    folder = make_scenario(tmp_path / "scen", num_sequences=1, sequence_length=3)
    for row in (2, 3, 4):
        truncate_image(folder, row)

    with pytest.raises(DataError, match="no row of 'scen' decodes"):
        prepare(read_scenario(folder, check_images=False), tmp_path / "cache", SMALL, skip_undecodable=True)

    assert not (tmp_path / "cache").exists()
