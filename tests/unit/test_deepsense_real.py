"""The DeepSense reader on real data (skipped when ../shared/data/deepsense is absent)."""

from __future__ import annotations

import numpy as np
import pytest

from kdcs.data.deepsense.cells import check_image_file
from kdcs.data.deepsense.reader import read_scenario
from kdcs.data.errors import DataError

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def scenario5_table(request):
    return read_scenario(request.getfixturevalue("deepsense_scenario5"))


def test_scenario5_shape_and_modalities(scenario5_table):
    table = scenario5_table
    assert table.name == "scenario5" and len(table) == 2300
    assert len(table.sequences) == 29 and len(table.sequence_bounds()) == 29
    assert table.modalities == ("power", "gps")
    assert table.camera_paths is None and table.radar_paths is None and table.time_s is None
    assert table.skipped == [] and table.notes == []


def test_scenario5_beams_equal_the_power_argmax(scenario5_table):
    table = scenario5_table
    assert table.beam_source == "unit1_beam_index"
    assert table.beam.min() >= 0 and table.beam.max() <= 63
    assert table.power.shape == (2300, 64) and np.all(np.isfinite(table.power))
    np.testing.assert_array_equal(table.beam, np.argmax(table.power, axis=1))


def test_scenario5_gps_is_near_the_base_station(scenario5_table):
    table = scenario5_table
    np.testing.assert_allclose(table.bs_latlon, np.tile([33.42069305555555, -111.929175], (2300, 1)))
    assert table.ue_latlon_column == "unit2_loc"
    # The street passes within a few hundred metres of the BS: 0.01 degree is ~1 km.
    assert np.all(np.abs(table.ue_latlon - table.bs_latlon) < 0.01)


def test_scenario5_rows_are_in_csv_order_inside_sequences(scenario5_table):
    table = scenario5_table
    assert np.all(np.diff(table.seq_index) >= 0)
    for _, start, stop in table.sequence_bounds():
        assert np.all(np.diff(table.index[start:stop]) > 0)


def test_real_camera_samples_pass_the_image_check(deepsense_camera_samples):
    for frame in deepsense_camera_samples:
        check_image_file(frame, open_image=True)  # raises on a bad frame


def test_truncated_real_frame_is_rejected_with_its_row(deepsense_camera_samples, tmp_path):
    # Prepare: a two-row scenario whose second frame is a cut-off copy of a real one
    data = deepsense_camera_samples[0].read_bytes()
    (tmp_path / "a.jpg").write_bytes(data)
    (tmp_path / "b.jpg").write_bytes(data[: len(data) * 9 // 10])
    (tmp_path / "cam.csv").write_text(
        "index,unit1_rgb,unit1_beam_index,seq_index\n1,./a.jpg,3,1\n2,./b.jpg,4,1\n"
    )

    # Execute / Assert
    with pytest.raises(
        DataError, match=r"line 3 \(header is line 1\), column 'unit1_rgb': .*b.jpg is truncated"
    ):
        read_scenario(tmp_path / "cam.csv")
    table = read_scenario(tmp_path / "cam.csv", skip_bad_rows=True)
    assert len(table) == 1 and table.camera_paths[0].name == "a.jpg"
