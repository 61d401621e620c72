"""The test-fixture factory writes a consistent DeepSense-layout scenario."""

from __future__ import annotations

import numpy as np
import scipy.io
from PIL import Image

from tests.fixtures import scenario_factory as factory


def test_default_scenario_layout_and_known_content(tmp_path):
    # Prepare / Execute
    folder = factory.make_scenario(tmp_path / "ap1")
    header, rows = factory.read_csv(folder / "ap1.csv")

    # Assert: columns, row count, 1-based beams on disk that follow the sweep
    assert header[0] == "index" and "seq_index" in header and "time_stamp[UTC]" in header
    assert len(rows) == 36
    beams_on_disk = np.array([int(r[header.index("unit1_beam_index")]) for r in rows])
    np.testing.assert_array_equal(beams_on_disk - 1, factory.expected_beams(3, 12))
    assert factory.expected_beams(3, 12)[:3].tolist() == [5, 6, 7]
    assert factory.get_cell(folder, 2, "time_stamp[UTC]") == "['11-46-20.000000']"


def test_files_carry_the_beam(tmp_path):
    # Prepare
    folder = factory.make_scenario(tmp_path / "ap1", num_sequences=1, sequence_length=4)
    beam = int(factory.get_cell(folder, 3, "unit1_beam_index")) - 1

    # Execute
    power = np.loadtxt(factory.cell_file(folder, 3, "unit1_pwr_60ghz"))
    pixels = np.asarray(Image.open(factory.cell_file(folder, 3, "unit1_rgb")).convert("L"), dtype=float)
    cube = scipy.io.loadmat(factory.cell_file(folder, 3, "unit1_radar"))["data"]

    # Assert
    assert power.shape == (64,) and int(np.argmax(power)) == beam
    assert pixels.shape == (54, 96)
    assert abs(int(np.argmax(pixels.mean(axis=0))) - factory.blob_column(beam, 96)) <= 3
    assert cube.shape == (4, 32, 8) and np.iscomplexobj(cube)


def test_modalities_and_options_choose_columns(tmp_path):
    # Execute
    folder = factory.make_scenario(
        tmp_path / "s",
        modalities=("power", "gps"),
        with_time=False,
        with_cal_gps=False,
        with_lidar_column=True,
        name="scenario7",
    )
    header, _ = factory.read_csv(folder / "scenario7.csv")

    # Assert
    assert header == [
        "index",
        "unit1_pwr_60ghz",
        "unit1_loc",
        "unit1_lidar",
        "unit1_lidar_SCR",
        "unit2_loc",
        "seq_index",
    ]


def test_npy_radar_is_a_range_angle_map(tmp_path):
    folder = factory.make_scenario(tmp_path / "ap1", modalities=("radar", "beam"), radar_format="npy")
    assert np.load(factory.cell_file(folder, 2, "unit1_radar")).shape == (32, 64)


def test_corrupt_helpers_change_exactly_one_cell(tmp_path):
    # Prepare
    folder = factory.make_scenario(tmp_path / "ap1", num_sequences=1, sequence_length=4)
    jpeg = factory.cell_file(folder, 3, "unit1_rgb")
    size = jpeg.stat().st_size

    # Execute
    factory.truncate_image(folder, 3)
    factory.nan_in_power(folder, 4)
    factory.duplicate_index(folder, 5, copy_from_row=2)
    factory.drop_column(folder, "seq_index")

    # Assert
    assert jpeg.stat().st_size == size // 2
    assert np.isnan(np.loadtxt(factory.cell_file(folder, 4, "unit1_pwr_60ghz"))[3])
    assert factory.get_cell(folder, 5, "index") == factory.get_cell(folder, 2, "index") == "1"
    assert "seq_index" not in factory.read_csv(folder / "ap1.csv")[0]
