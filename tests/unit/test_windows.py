"""Unit tests for kdcs.data.windows: window boundaries, causal beam history, batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdcs.data.windows import WindowBatcher, WindowSpec, build_windows, previous_beams


def _arrays(lengths=(12, 7, 15), frame_size=(4, 5)):
    """Arrays of a fake cache where every value encodes its row number."""
    seq_index = np.concatenate([np.full(n, 10 + k) for k, n in enumerate(lengths)]).astype(np.int64)
    n = seq_index.size
    rows = np.arange(n)
    power = np.zeros((n, 64), dtype=np.float32)
    power[rows, rows % 64] = 1.0
    return {
        "seq_index": seq_index,
        "beam": (rows % 64).astype(np.int16),
        "camera": np.broadcast_to((rows % 256).astype(np.uint8)[:, None, None], (n, *frame_size)).copy(),
        "radar": np.broadcast_to(rows.astype(np.float16)[:, None, None], (n, 3, 2)).copy(),
        "gps": np.repeat(rows.astype(np.float32)[:, None], 4, axis=1),
        "power": power,
    }


# ------------------------------------------------------------------------------------------ windows


def test_window_counts_are_n_minus_l_minus_j_plus_one_per_sequence():
    seq_index = _arrays(lengths=(12, 7, 15))["seq_index"]

    windows = build_windows(seq_index, WindowSpec(history=4, horizon=2))

    counts = {int(s): int(np.sum(windows.seq_ids == s)) for s in (10, 11, 12)}
    assert counts == {10: 12 - 4 - 2 + 1, 11: 7 - 4 - 2 + 1, 12: 15 - 4 - 2 + 1}
    assert windows.short_sequences == ()


def test_no_window_crosses_a_sequence_and_the_last_window_is_kept():
    seq_index = _arrays(lengths=(12, 7, 15))["seq_index"]
    spec = WindowSpec(history=4, horizon=2)

    windows = build_windows(seq_index, spec)

    touched = np.concatenate([windows.input_rows, windows.target_rows[:, 1:]], axis=1)  # [W, L+J]
    assert np.all(seq_index[touched] == windows.seq_ids[:, None])
    last_rows = {10: 11, 11: 18, 12: 33}  # last row of each sequence
    for seq_id, last_row in last_rows.items():
        assert windows.target_rows[windows.seq_ids == seq_id, -1].max() == last_row


def test_window_rows_are_known_values():
    windows = build_windows(np.zeros(10, dtype=np.int64), WindowSpec(history=3, horizon=1))

    assert windows.end_rows.tolist() == [2, 3, 4, 5, 6, 7, 8]
    assert windows.input_rows[0].tolist() == [0, 1, 2]
    assert windows.target_rows[-1].tolist() == [8, 9]


def test_short_sequences_get_no_window_and_are_listed():
    seq_index = np.array([1] * 10 + [2] * 10 + [3] * 11)

    windows = build_windows(seq_index, WindowSpec(history=8, horizon=3))  # needs 11 rows

    assert windows.short_sequences == (1, 2)
    assert windows.seq_ids.tolist() == [3] and windows.end_rows.tolist() == [20 + 7]


def test_split_up_sequence_is_rejected():
    with pytest.raises(ValueError, match="seq_index 1"):
        build_windows(np.array([1, 1, 2, 2, 1, 1]), WindowSpec(history=1, horizon=0))


def test_window_spec_rejects_bad_values():
    with pytest.raises(ValueError, match="history"):
        WindowSpec(history=0)


# ------------------------------------------------------------------------------------- beam history


def test_previous_beams_pad_at_each_sequence_start():
    beam = np.array([5, 6, 7, 40, 41])
    seq_index = np.array([1, 1, 1, 2, 2])

    assert previous_beams(beam, seq_index, pad_token=64).tolist() == [64, 5, 6, 64, 40]


def test_beam_history_is_t_minus_l_to_t_minus_1_and_never_beam_t():
    arrays = _arrays(lengths=(12, 7, 15))
    spec = WindowSpec(history=4, horizon=2)
    windows = build_windows(arrays["seq_index"], spec)

    batch = next(iter(WindowBatcher(arrays, windows, spec, ["beam_history"], batch_size=len(windows))))

    history, target, end = batch["beam_history"].numpy(), batch["target"].numpy(), batch["window_end"].numpy()
    first_window = np.flatnonzero(end == 3)[0]  # t = 3: history slots 0..3 see beams (pad), 0, 1, 2
    assert history[first_window].tolist() == [64, 0, 1, 2]
    second_sequence_start = np.flatnonzero(end == 15)[0]  # sequence 11 holds rows 12..18
    assert history[second_sequence_start].tolist() == [64, 12, 13, 14]
    middle = np.flatnonzero(end == 25)[0]
    assert history[middle].tolist() == [21, 22, 23, 24]
    assert np.all(history[:, -1] == target[:, 0] - 1)  # beam = row here: last history slot is beam(t-1)
    assert not np.any(history == target[:, :1])


# ------------------------------------------------------------------------------------------ batches


def test_batch_shapes_dtypes_and_row_values():
    arrays = _arrays()
    spec = WindowSpec(history=4, horizon=2)
    windows = build_windows(arrays["seq_index"], spec)
    batcher = WindowBatcher(arrays, windows, spec, ["camera", "radar", "gps"], batch_size=5, as_torch=False)

    batch = next(iter(batcher))

    assert batch["camera"].shape == (5, 4, 4, 5) and batch["camera"].dtype == np.uint8
    assert batch["radar"].shape == (5, 4, 3, 2) and batch["radar"].dtype == np.float16  # kept as cached; the model converts
    assert batch["gps"].shape == (5, 4, 4)
    assert batch["target"].shape == (5, 3) and batch["target"].dtype == np.int64
    assert batch["target_power"].shape == (5, 3, 64)
    assert "power" not in batch  # observed power reveals the label: off unless asked for
    assert batch["window_end"].tolist() == [3, 4, 5, 6, 7]
    assert batch["camera"][0, :, 0, 0].tolist() == [0, 1, 2, 3]
    assert batch["target"][0].tolist() == [3, 4, 5]
    assert np.argmax(batch["target_power"][0], axis=-1).tolist() == [3, 4, 5]


def test_batcher_covers_every_window_once_and_returns_tensors():
    arrays = _arrays()
    spec = WindowSpec(history=4, horizon=2)
    windows = build_windows(arrays["seq_index"], spec)
    batcher = WindowBatcher(
        arrays, windows, spec, ["camera"], batch_size=4, shuffle=True, rng=np.random.default_rng(1)
    )

    batches = list(batcher)

    assert len(batches) == len(batcher) == int(np.ceil(len(windows) / 4))
    assert isinstance(batches[0]["camera"], torch.Tensor) and batches[0]["camera"].dtype == torch.uint8
    ends = np.concatenate([b["window_end"].numpy() for b in batches])
    assert sorted(ends.tolist()) == windows.end_rows.tolist()
    assert ends.tolist() != windows.end_rows.tolist()  # shuffled


def test_shuffle_is_deterministic_under_the_seed():
    arrays = _arrays()
    spec = WindowSpec(history=4, horizon=2)
    windows = build_windows(arrays["seq_index"], spec)

    def order(seed):
        batcher = WindowBatcher(
            arrays, windows, spec, [], batch_size=8, shuffle=True, rng=np.random.default_rng(seed)
        )
        return np.concatenate([b["window_end"].numpy() for b in batcher]).tolist()

    assert order(3) == order(3)
    assert order(3) != order(4)


def test_batcher_errors_name_the_problem():
    arrays = _arrays()
    spec = WindowSpec(history=4, horizon=2)
    windows = build_windows(arrays["seq_index"], spec)

    with pytest.raises(ValueError, match="'camera_motion' is not in the cache"):
        WindowBatcher(arrays, windows, spec, ["camera_motion"])
    with pytest.raises(ValueError, match="unknown batch modality 'lidar'"):
        WindowBatcher(arrays, windows, spec, ["lidar"])
    with pytest.raises(ValueError, match="rng"):
        WindowBatcher(arrays, windows, spec, ["camera"], shuffle=True)
    with pytest.raises(ValueError, match="built with"):
        WindowBatcher(arrays, windows, WindowSpec(history=8, horizon=3), ["camera"])


def test_drop_last_drops_the_partial_batch():
    arrays = _arrays()
    spec = WindowSpec(history=4, horizon=2)
    windows = build_windows(arrays["seq_index"], spec)

    batcher = WindowBatcher(arrays, windows, spec, ["gps"], batch_size=4, drop_last=True)

    assert len(batcher) == len(windows) // 4
    assert all(b["gps"].shape[0] == 4 for b in batcher)
