"""Unit tests for kdcs.data.preprocess: camera, motion masks, radar maps, GPS, config."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from PIL import Image

from kdcs.data.preprocess import (
    PreprocessConfig,
    gps_to_local,
    load_camera_gray,
    load_radar_map,
    motion_masks,
    resize_map,
)
from kdcs.phy.fmcw import range_angle_map
from kdcs.phy.geodesy import east_north_to_latlon

# ------------------------------------------------------------------------------------------- config


def test_config_round_trips_through_dict():
    config = PreprocessConfig(camera_size=(32, 48), radar_max_range_bins=128, radar_dtype="float32")

    restored = PreprocessConfig.from_dict(config.to_dict())

    assert restored == config
    assert config.to_dict()["camera_size"] == [32, 48]


def test_config_from_lists_equals_config_from_tuples():
    assert PreprocessConfig(camera_size=[64, 64]) == PreprocessConfig(camera_size=(64, 64))


@pytest.mark.parametrize(
    "values, key",
    [
        ({"mask_threshold": 1.5}, "mask_threshold"),
        ({"camera_size": (0, 64)}, "camera_size"),
        ({"radar_dtype": "int8"}, "radar_dtype"),
        ({"mask_blur_sigma": -1.0}, "mask_blur_sigma"),
    ],
)
def test_config_rejects_bad_values_naming_the_key(values, key):
    with pytest.raises(ValueError, match=key):
        PreprocessConfig(**values)


def test_config_from_dict_names_an_unknown_key():
    with pytest.raises(ValueError, match="camera_sise"):
        PreprocessConfig.from_dict({"camera_sise": [64, 64]})


# ------------------------------------------------------------------------------------------- camera


def _save_split_frame(path, size=(960, 540), fmt="JPEG"):
    """Left half black, right half white, RGB."""
    width, height = size
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, width // 2 :] = 255
    Image.fromarray(pixels).save(path, format=fmt)
    return path


def test_camera_is_resized_grayscale_with_halves_kept(tmp_path):
    path = _save_split_frame(tmp_path / "frame.jpg")

    gray = load_camera_gray(path, (64, 32))

    assert gray.shape == (64, 32) and gray.dtype == np.uint8
    assert gray[:, :12].max() < 10
    assert gray[:, 20:].min() > 245


def test_camera_gray_level_is_itu601_luma(tmp_path):
    path = tmp_path / "flat.png"
    Image.fromarray(np.full((54, 96, 3), (200, 100, 50), dtype=np.uint8)).save(path)

    gray = load_camera_gray(path, (8, 8))

    assert np.all(np.abs(gray.astype(int) - 124) <= 1)  # 0.299*200 + 0.587*100 + 0.114*50 = 124.2


def test_camera_png_without_draft_matches_jpeg_path(tmp_path):
    jpeg = _save_split_frame(tmp_path / "a.jpg", fmt="JPEG")
    png = _save_split_frame(tmp_path / "a.png", fmt="PNG")

    from_jpeg, from_png = load_camera_gray(jpeg, (64, 64)), load_camera_gray(png, (64, 64))

    assert np.abs(from_jpeg.astype(int) - from_png.astype(int)).mean() < 3


def test_camera_real_frame_draft_close_to_full_decode(deepsense_camera_samples):
    path = deepsense_camera_samples[0]

    fast = load_camera_gray(path, (64, 64))
    with Image.open(path) as image:
        reference = np.asarray(image.convert("L").resize((64, 64), Image.Resampling.BILINEAR))

    assert fast.shape == (64, 64) and fast.std() > 10
    assert np.abs(fast.astype(int) - reference.astype(int)).mean() < 4


def test_camera_truncated_jpeg_raises(tmp_path):
    path = _save_split_frame(tmp_path / "frame.jpg")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    with pytest.raises(OSError):
        load_camera_gray(path, (64, 64))


def test_camera_garbage_file_raises(tmp_path):
    path = tmp_path / "frame.jpg"
    path.write_bytes(b"not a picture" * 20)

    with pytest.raises(OSError):
        load_camera_gray(path, (64, 64))


# ------------------------------------------------------------------------------------- motion masks


def _moving_square_frames(num_frames=4, size=32, step=6):
    frames = np.full((num_frames, size, size), 40, dtype=np.uint8)
    for t in range(num_frames):
        frames[t, 10:18, 2 + step * t : 10 + step * t] = 220
    return frames


def test_motion_mask_first_frame_is_zero_and_marks_moved_edges():
    frames = _moving_square_frames()

    masks = motion_masks(frames, sigma=1.0, threshold=0.1)

    assert masks.shape == frames.shape and masks.dtype == np.uint8
    assert set(np.unique(masks)) <= {0, 1}
    assert masks[0].sum() == 0
    assert masks[1, 14, 4] == 1  # left edge uncovered between frames 0 and 1
    assert masks[1, 14, 13] == 1  # right edge newly covered
    assert masks[1, 0, 0] == 0 and masks[1, 30, 30] == 0  # static background


def test_motion_mask_static_frames_are_all_zero():
    frames = np.full((5, 16, 16), 90, dtype=np.uint8)

    assert motion_masks(frames).sum() == 0


def test_motion_mask_threshold_is_relative_to_each_difference_maximum():
    frames = np.zeros((3, 16, 16), dtype=np.uint8)
    frames[1, 8, 8] = 4  # a faint change: still the maximum of its own difference image
    frames[2] = frames[1]
    frames[2, 2, 2] = 250

    masks = motion_masks(frames, sigma=0.0, threshold=0.1)

    assert masks[1].sum() == 1 and masks[1, 8, 8] == 1
    assert masks[2, 2, 2] == 1 and masks[2, 8, 8] == 0  # unchanged pixel between frames 1 and 2


def test_motion_mask_single_frame_sequence_is_zero():
    assert motion_masks(np.full((1, 8, 8), 200, dtype=np.uint8)).sum() == 0


def test_motion_mask_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"\[T, H, W\]"):
        motion_masks(np.zeros((8, 8)))


# ------------------------------------------------------------------------------------------- radar


def _target_cube(range_bin=10, num_samples=64, num_chirps=16, spatial_frequency=0.25):
    rx = np.arange(4)[:, None, None]
    fast = np.arange(num_samples)[None, :, None]
    slow = np.arange(num_chirps)[None, None, :]
    phase = range_bin * fast / num_samples + spatial_frequency * rx + 0.2 * slow
    return np.exp(2j * np.pi * phase).astype(np.complex64)


def test_radar_mat_follows_the_fmcw_chain_then_resize_and_median(tmp_path):
    cube = _target_cube()
    path = tmp_path / "radar.mat"
    scipy.io.savemat(path, {"data": cube})

    cached = load_radar_map(path, "raw_cube", (32, 16), angle_bins=64)

    expected = resize_map(range_angle_map(cube, 64), (32, 16))
    expected -= np.median(expected)
    assert cached.shape == (32, 16) and cached.dtype == np.float32
    np.testing.assert_allclose(cached, expected, atol=0.01)  # single-precision FFT round-off
    assert abs(float(np.median(cached))) < 1e-3


def test_radar_peak_lands_at_the_target_range_and_angle(tmp_path):
    path = tmp_path / "radar.mat"
    scipy.io.savemat(path, {"data": _target_cube(range_bin=10, spatial_frequency=0.25)})

    cached = load_radar_map(path, "raw_cube", (64, 64))

    peak_range, peak_angle = np.unravel_index(np.argmax(cached), cached.shape)
    assert peak_range == 10
    assert peak_angle == 32 + 16  # u = 0.25 cycles/element -> bin n/2 + 0.25 n after fftshift


def test_radar_npy_map_is_cropped_resized_and_normalised(tmp_path):
    values = np.zeros((256, 64), dtype=np.float32)
    values[100, 10] = 50.0  # beyond the crop: must vanish
    values[20:24, 40:44] = 30.0
    path = tmp_path / "radar.npy"
    np.save(path, values)

    cached = load_radar_map(path, "range_angle", (32, 32), max_range_bins=64)

    peak_range, peak_angle = np.unravel_index(np.argmax(cached), cached.shape)
    assert peak_range in (10, 11) and peak_angle in (
        20,
        21,
    )  # rows 20..23 -> 10..11, columns 40..43 -> 20..21
    assert cached.max() < 31 and np.median(cached) == pytest.approx(0.0, abs=1e-6)


def test_radar_mat_without_data_variable_raises(tmp_path):
    path = tmp_path / "radar.mat"
    scipy.io.savemat(path, {"cube": np.zeros((4, 8, 8))})

    with pytest.raises(ValueError, match="'data'"):
        load_radar_map(path, "raw_cube", (8, 8))


def test_radar_npy_with_wrong_rank_raises(tmp_path):
    path = tmp_path / "radar.npy"
    np.save(path, np.zeros((4, 16, 2), dtype=np.float32))

    with pytest.raises(ValueError, match="2-D"):
        load_radar_map(path, "range_angle", (8, 8))


def test_radar_unknown_kind_raises(tmp_path):
    with pytest.raises(ValueError, match="unknown radar kind"):
        load_radar_map(tmp_path / "x.npy", "lidar", (8, 8))


# --------------------------------------------------------------------------------------------- GPS


def test_gps_to_local_known_positions():
    bs = np.array([[33.42, -111.93], [33.42, -111.93], [40.0, 10.0]])
    offsets = np.array([[0.0, 100.0], [-30.0, 0.0], [30.0, 40.0]])  # east, north metres
    ue = np.stack([east_north_to_latlon(b, o) for b, o in zip(bs, offsets, strict=True)])

    local = gps_to_local(bs, ue)

    assert local.shape == (3, 4) and local.dtype == np.float32
    np.testing.assert_allclose(local[:, :2], offsets, atol=1e-3)
    np.testing.assert_allclose(local[:, 2], [100.0, 30.0, 50.0], atol=1e-3)
    np.testing.assert_allclose(local[:, 3], [np.pi / 2, np.pi, np.arctan2(40, 30)], atol=1e-5)


def test_gps_to_local_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        gps_to_local(np.zeros((2, 2)), np.zeros((3, 2)))
