"""The DeepSense scenario reader on generated fixtures: every modality, every kind of bad input."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from kdcs.data.deepsense import rows as deepsense_rows
from kdcs.data.deepsense.cells import parse_time_stamp, seconds_since_first
from kdcs.data.deepsense.reader import (
    DataWarning,
    find_scenario_csv,
    is_scenario_folder,
    read_scenario,
    read_scenario_set,
)
from kdcs.data.errors import DataError
from tests.fixtures import scenario_factory as factory


@pytest.fixture(scope="module")
def full_scenario(tmp_path_factory):
    """Every modality, 3 sequences x 12 samples (read-only: tests that break cells make their own)."""
    return factory.make_scenario(tmp_path_factory.mktemp("full") / "ap1")


def small_scenario(tmp_path, **kwargs):
    return factory.make_scenario(tmp_path / "ap1", num_sequences=2, sequence_length=5, **kwargs)


# ----------------------------------------------------------------------------- good input


def test_every_modality_is_read(full_scenario):
    # Execute
    table = read_scenario(full_scenario)

    # Assert
    assert table.name == "ap1" and len(table) == 36
    assert table.modalities == ("camera", "radar", "power", "gps")
    np.testing.assert_array_equal(table.beam, factory.expected_beams(3, 12))
    assert table.beam_source == "unit1_beam_index"
    np.testing.assert_array_equal(table.index, np.arange(1, 37))
    assert table.sequence_bounds() == [(1, 0, 12), (2, 12, 24), (3, 24, 36)]
    assert table.power.shape == (36, 64) and table.power.dtype == np.float32
    np.testing.assert_array_equal(np.argmax(table.power, axis=1), table.beam)
    assert table.radar_kind == "raw_cube" and table.radar_paths[0].name == "radar_data_1.mat"
    assert all(p.is_absolute() and p.is_file() for p in table.camera_paths + table.radar_paths)
    np.testing.assert_allclose(table.bs_latlon, np.tile(factory.BS_LATLON_DEG, (36, 1)))
    np.testing.assert_allclose(table.time_s[:3], [0.0, 0.111, 0.222], atol=1e-6)
    np.testing.assert_allclose(table.time_s[12], factory.SEQUENCE_GAP_S, atol=1e-6)
    assert table.skipped == [] and table.notes == [
        "vehicle position from unit2_loc_cal (calibrated); unit2_loc not read"
    ]


def test_calibrated_gps_is_preferred_and_raw_used_without_it(tmp_path):
    # Prepare
    with_cal = factory.make_scenario(
        tmp_path / "a", num_sequences=1, sequence_length=3, modalities=("gps", "beam")
    )
    raw_only = factory.make_scenario(
        tmp_path / "b", num_sequences=1, sequence_length=3, modalities=("gps", "beam"), with_cal_gps=False
    )
    calibrated = np.array([factory.vehicle_latlon(k, 0) for k in range(3)])

    # Execute
    table_cal, table_raw = read_scenario(with_cal), read_scenario(raw_only)

    # Assert
    assert table_cal.ue_latlon_column == "unit2_loc_cal"
    np.testing.assert_allclose(table_cal.ue_latlon, calibrated, rtol=0, atol=1e-12)
    assert table_raw.ue_latlon_column == "unit2_loc"
    np.testing.assert_allclose(
        table_raw.ue_latlon, calibrated + factory.RAW_GPS_OFFSET_DEG, rtol=0, atol=1e-12
    )


def test_npy_range_angle_maps_and_expected_radar_shape(tmp_path):
    npy = factory.make_scenario(tmp_path / "n", num_sequences=1, sequence_length=3, radar_format="npy")
    assert read_scenario(npy, expected_radar_shape=(32, 64)).radar_kind == "range_angle"
    assert read_scenario(small_scenario(tmp_path), expected_radar_shape=(4, 32, 8)).radar_kind == "raw_cube"
    with pytest.raises(DataError, match=r"holds shape \(4, 32, 8\), expected \(4, 256, 128\)"):
        read_scenario(tmp_path / "ap1", expected_radar_shape=(4, 256, 128))


def test_beam_is_derived_from_power_when_the_beam_column_is_absent(tmp_path):
    folder = small_scenario(tmp_path, modalities=("power",))
    table = read_scenario(folder)
    assert table.beam_source == "unit1_pwr_60ghz argmax"
    np.testing.assert_array_equal(table.beam, factory.expected_beams(2, 5))
    assert table.modalities == ("power",) and table.camera_paths is None and table.ue_latlon is None


def test_beam_power_mismatches_are_counted_and_warned(tmp_path):
    # Prepare: two rows whose label disagrees with their power argmax
    folder = small_scenario(tmp_path, modalities=("power", "beam"))
    factory.set_cell(folder, 2, "unit1_beam_index", "64")
    factory.set_cell(folder, 5, "unit1_beam_index", "1")

    # Execute
    with pytest.warns(DataWarning, match="on 2 of 10 rows"):
        table = read_scenario(folder)

    # Assert: the label column wins, the note keeps the count
    assert table.beam[0] == 63 and table.beam[3] == 0
    assert any("differs from the unit1_pwr_60ghz argmax on 2 of 10 rows" in note for note in table.notes)


def test_lidar_and_empty_named_columns_are_ignored_with_a_note(tmp_path):
    folder = small_scenario(tmp_path, modalities=("beam",), with_lidar_column=True)
    factory.add_column(folder, "", "")  # DeepSense scenario 9 has an unnamed column
    table = read_scenario(folder)
    assert "LiDAR column(s) present but not read: unit1_lidar, unit1_lidar_SCR" in table.notes
    assert len(table) == 10 and table.modalities == ()


def test_rows_are_sorted_by_sequence_then_time(tmp_path):
    # Prepare
    folder = small_scenario(tmp_path)
    factory.shuffle_rows(folder, seed=3)

    # Execute
    table = read_scenario(folder)

    # Assert
    np.testing.assert_array_equal(table.index, np.arange(1, 11))
    np.testing.assert_array_equal(table.beam, factory.expected_beams(2, 5))
    assert [p.name for p in table.camera_paths[:2]] == ["image_1.jpg", "image_2.jpg"]
    assert np.all(np.diff(table.time_s) > 0)


def test_rows_are_sorted_by_index_without_time_stamps(tmp_path):
    folder = small_scenario(tmp_path, modalities=("beam",), with_time=False)
    factory.shuffle_rows(folder, seed=1)
    table = read_scenario(folder)
    assert table.time_s is None
    np.testing.assert_array_equal(table.index, np.arange(1, 11))


def test_time_stamp_forms_and_midnight_roll_over():
    assert parse_time_stamp("['11-46-20.123456']") == pytest.approx((42380.123456, True))
    assert parse_time_stamp("23:59:59.5") == pytest.approx((86399.5, True))
    assert parse_time_stamp("2021-07-05T00:00:01+00:00") == pytest.approx((1625443201.0, False))
    seconds = seconds_since_first(np.array([86399.5, 86399.9, 0.3]), np.array([True, True, True]))
    np.testing.assert_allclose(seconds, [0.0, 0.4, 0.8], atol=1e-9)


def test_bs_location_file_is_read_once(tmp_path, monkeypatch):
    # Prepare
    folder = small_scenario(tmp_path, modalities=("gps", "beam"))
    calls = []
    real_reader = deepsense_rows.read_latlon_file
    monkeypatch.setattr(deepsense_rows, "read_latlon_file", lambda p: calls.append(p.name) or real_reader(p))

    # Execute
    read_scenario(folder)

    # Assert: one BS read, one vehicle read per row
    assert calls.count("gps_location.txt") == 1 and len(calls) == 11


# ----------------------------------------------------------------------------- finding the CSV


def test_folder_csv_and_scenario_set_resolution(tmp_path):
    # Prepare
    for name in ("ap10", "ap2", "ap1"):
        factory.make_scenario(
            tmp_path / "root" / name, num_sequences=1, sequence_length=3, modalities=("beam",)
        )

    # Execute
    tables = read_scenario_set(tmp_path / "root")
    single = read_scenario_set(tmp_path / "root" / "ap2")

    # Assert
    assert list(tables) == ["ap1", "ap2", "ap10"]
    assert list(single) == ["ap2"] and len(single["ap2"]) == 3
    assert is_scenario_folder(tmp_path / "root" / "ap1") and not is_scenario_folder(tmp_path / "root")
    assert read_scenario(tmp_path / "root" / "ap1" / "ap1.csv").name == "ap1"


def test_several_or_no_csv_files_are_errors(tmp_path):
    folder = small_scenario(tmp_path, modalities=("beam",))
    (folder / "ap1.csv").rename(folder / "scenario1.csv")
    (folder / "scenario2.csv").write_text("index,seq_index\n")
    with pytest.raises(DataError, match="several scenario CSV files .*scenario1.csv, scenario2.csv"):
        find_scenario_csv(folder)
    with pytest.raises(DataError, match="no scenario CSV file"):
        read_scenario(tmp_path)


# ----------------------------------------------------------------------------- bad input

BAD_CELLS = [
    # (name, how to break row 4, column, words in the message)
    (
        "truncated jpeg",
        lambda f: factory.truncate_image(f, 4, keep_fraction=0.9),
        "unit1_rgb",
        "image_3.jpg is truncated",
    ),
    ("not an image", lambda f: factory.garble_image(f, 4), "unit1_rgb", "cannot be opened as an image"),
    ("missing image", lambda f: factory.delete_file(f, 4, "unit1_rgb"), "unit1_rgb", "does not exist"),
    ("nan power", lambda f: factory.nan_in_power(f, 4), "unit1_pwr_60ghz", "NaN or infinite"),
    ("short power", lambda f: factory.short_power(f, 4), "unit1_pwr_60ghz", "holds 63 values, expected 64"),
    ("text gps", lambda f: factory.text_in_gps(f, 4), "unit2_loc_cal", "gps_location_cal_3.txt holds text"),
    ("2-D radar cube", lambda f: factory.wrong_radar_shape(f, 4), "unit1_radar", "expected a 3-D"),
    (
        "fewer samples",
        lambda f: factory.wrong_radar_shape(f, 4, shape=(4, 16, 8)),
        "unit1_radar",
        "holds shape (4, 16, 8), but the scenario's other radar files hold (4, 32, 8)",
    ),
    (
        "other antennas",
        lambda f: factory.wrong_radar_shape(f, 4, shape=(1, 256, 128)),
        "unit1_radar",
        "holds shape (1, 256, 128), but the scenario's other radar files hold (4, 32, 8)",
    ),
    ("duplicate index", lambda f: factory.duplicate_index(f, 4, 2), "index", "index 1 repeats line 2"),
    (
        "beam 0",
        lambda f: factory.set_cell(f, 4, "unit1_beam_index", "0"),
        "unit1_beam_index",
        "outside 1..64",
    ),
    ("text seq", lambda f: factory.set_cell(f, 4, "seq_index", "one"), "seq_index", "'one' is not a number"),
    ("bad time", lambda f: factory.set_cell(f, 4, "time_stamp[UTC]", "noon"), "time_stamp[UTC]", "'noon'"),
]


@pytest.mark.parametrize(("name", "break_row", "column", "words"), BAD_CELLS, ids=[c[0] for c in BAD_CELLS])
def test_bad_cell_raises_naming_file_line_and_column(tmp_path, name, break_row, column, words):
    # Prepare
    folder = small_scenario(tmp_path)
    break_row(folder)
    files_before = sorted(folder.rglob("*"))

    # Execute
    with pytest.raises(DataError) as caught:
        read_scenario(folder)

    # Assert: one sentence naming CSV, line, column and the reason; nothing written
    message = str(caught.value)
    assert message.startswith(
        f"{(folder / 'ap1.csv').resolve()} line 4 (header is line 1), column {column!r}: "
    )
    assert words in message and message.endswith(".")
    assert sorted(folder.rglob("*")) == files_before


def test_wrong_npy_radar_shape_is_named(tmp_path):
    folder = factory.make_scenario(tmp_path / "ap1", num_sequences=1, sequence_length=4, radar_format="npy")
    factory.wrong_radar_shape(folder, 3, shape=(4, 16, 2))
    with pytest.raises(DataError, match=r"line 3 .*'unit1_radar'.*shape \(4, 16, 2\), expected a 2-D"):
        read_scenario(folder)


def test_odd_radar_shape_is_skipped_in_line_order_with_its_reason(tmp_path):
    # Prepare: a bad GPS file after the odd radar row, so reasons come back in CSV line order
    folder = small_scenario(tmp_path)
    factory.wrong_radar_shape(folder, 3, shape=(4, 16, 8))
    factory.text_in_gps(folder, 6)

    # Execute
    table = read_scenario(folder, skip_bad_rows=True)

    # Assert
    assert len(table) == 8
    assert [(row.csv_row, row.column) for row in table.skipped] == [(3, "unit1_radar"), (6, "unit2_loc_cal")]
    assert "(4, 16, 8), but the scenario's other radar files hold (4, 32, 8)" in table.skipped[0].reason


def test_check_images_off_only_checks_existence(tmp_path):
    folder = small_scenario(tmp_path, modalities=("camera", "beam"))
    factory.truncate_image(folder, 3)
    assert len(read_scenario(folder, check_images=False)) == 10


@pytest.mark.parametrize(
    ("drop", "words"),
    [
        (("seq_index",), "line 1 (header is line 1), column 'seq_index': the header has no seq_index column"),
        (
            ("unit1_beam_index", "unit1_pwr_60ghz"),
            "no label source: needs unit1_beam_index or unit1_pwr_60ghz",
        ),
    ],
)
def test_table_level_problems_raise_even_when_skipping(tmp_path, drop, words):
    folder = small_scenario(tmp_path, modalities=("power", "beam"))
    for column in drop:
        factory.drop_column(folder, column)
    with pytest.raises(DataError, match=re.escape(words)):
        read_scenario(folder, skip_bad_rows=True)


def test_skip_bad_rows_drops_exactly_the_bad_rows(tmp_path):
    # Prepare: three different problems on lines 3, 6 and 9
    folder = small_scenario(tmp_path)
    factory.nan_in_power(folder, 3)
    factory.truncate_image(folder, 6)
    factory.duplicate_index(folder, 9, copy_from_row=2)

    # Execute
    table = read_scenario(folder, skip_bad_rows=True)

    # Assert
    assert len(table) == 7
    assert [(s.csv_row, s.index, s.column) for s in table.skipped] == [
        (3, "2", "unit1_pwr_60ghz"),
        (6, "5", "unit1_rgb"),
        (9, "1", "index"),
    ]
    assert "NaN" in table.skipped[0].reason and "repeats line 2" in table.skipped[2].reason
    np.testing.assert_array_equal(table.index, [1, 3, 4, 6, 7, 9, 10])
    assert any(note.startswith("skipped 3 of 10 rows with bad cells") for note in table.notes)


def test_no_mismatch_warning_on_clean_data(full_scenario):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_scenario(full_scenario)
