"""Unit tests for kdcs.data.partition: splits by sequence and node partitions."""

from __future__ import annotations

import numpy as np
import pytest

from kdcs.data.partition import (
    explicit_split,
    mean_label_skew,
    partition_by_ap,
    partition_dirichlet,
    partition_iid,
    sequence_beam_sectors,
    split_sequences,
    windows_in_sequences,
)
from kdcs.data.windows import WindowSpec, build_windows

# -------------------------------------------------------------------------------------------- splits


def test_split_136_sequences_70_10_20_in_order():
    sequences = np.arange(1, 137)

    splits = split_sequences(sequences)

    assert [len(splits[k]) for k in ("train", "val", "test")] == [95, 14, 27]  # 95.2, 13.6, 27.2
    assert np.array_equal(np.concatenate([splits["train"], splits["val"], splits["test"]]), sequences)


def test_split_three_sequences_gives_each_part_one():
    splits = split_sequences([7, 3, 5])

    assert {k: v.tolist() for k, v in splits.items()} == {"train": [7], "val": [3], "test": [5]}


def test_split_allows_an_empty_part_with_zero_fraction():
    splits = split_sequences(np.arange(10), fractions=(0.8, 0.0, 0.2))

    assert [len(splits[k]) for k in ("train", "val", "test")] == [8, 0, 2]


@pytest.mark.parametrize(
    "fractions, message",
    [((0.7, 0.2), "three"), ((0.7, 0.2, 0.2), "sum to 1"), ((1.2, -0.1, -0.1), "non-negative")],
)
def test_split_rejects_bad_fractions(fractions, message):
    with pytest.raises(ValueError, match=message):
        split_sequences(np.arange(10), fractions=fractions)


def test_split_rejects_too_few_sequences():
    with pytest.raises(ValueError, match="cannot split 2 sequence"):
        split_sequences([1, 2])


def test_explicit_split_keeps_sequence_order():
    splits = explicit_split([4, 1, 3, 2, 9], train=[3, 4], val=[9], test=[2])

    assert (
        splits["train"].tolist() == [4, 3]
        and splits["val"].tolist() == [9]
        and splits["test"].tolist() == [2]
    )


def test_explicit_split_rejects_unknown_and_overlapping_ids():
    with pytest.raises(ValueError, match="val split lists sequence 99"):
        explicit_split([1, 2, 3], train=[1], val=[99], test=[3])
    with pytest.raises(ValueError, match="sequence 2 is listed in both the train and test"):
        explicit_split([1, 2, 3], train=[1, 2], val=[3], test=[2])


def test_windows_in_sequences_selects_whole_sequences():
    seq_index = np.repeat([1, 2, 3, 4], 12)
    windows = build_windows(seq_index, WindowSpec(history=8, horizon=3))
    splits = split_sequences([1, 2, 3, 4], fractions=(0.5, 0.25, 0.25))

    parts = {name: windows_in_sequences(windows, ids) for name, ids in splits.items()}

    assert {name: sorted(set(p.seq_ids.tolist())) for name, p in parts.items()} == {
        "train": [1, 2],
        "val": [3],
        "test": [4],
    }
    assert sum(len(p) for p in parts.values()) == len(windows) == 4 * 2


# ------------------------------------------------------------------------------------ node partitions


def _assert_disjoint_cover(partitions, sequences):
    flat = np.concatenate(partitions)
    assert sorted(flat.tolist()) == sorted(np.asarray(sequences).tolist())
    assert all(len(p) >= 1 for p in partitions)


def test_partition_iid_is_balanced_disjoint_and_deterministic():
    sequences = np.arange(100, 123)

    nodes = partition_iid(sequences, 4, np.random.default_rng(0))

    _assert_disjoint_cover(nodes, sequences)
    assert sorted(len(p) for p in nodes) == [5, 6, 6, 6]
    assert all(np.all(np.diff(p) > 0) for p in nodes)  # kept in sequence order
    again = partition_iid(sequences, 4, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(nodes, again, strict=True))


def test_partition_rejects_more_nodes_than_sequences():
    with pytest.raises(ValueError, match="5 nodes"):
        partition_iid([1, 2, 3], 5, np.random.default_rng(0))


def test_dirichlet_covers_all_and_every_node_gets_a_sequence():
    sequences = np.arange(40)
    labels = sequences % 4

    for seed in range(5):
        nodes = partition_dirichlet(sequences, labels, 6, alpha=0.05, rng=np.random.default_rng(seed))
        _assert_disjoint_cover(nodes, sequences)


def test_dirichlet_skew_grows_as_alpha_falls():
    sequences = np.arange(200)
    labels = sequences % 4

    def mean_skew(alpha):
        values = []
        for seed in range(10):
            nodes = partition_dirichlet(sequences, labels, 5, alpha=alpha, rng=np.random.default_rng(seed))
            values.append(mean_label_skew(nodes, sequences, labels))
        return float(np.mean(values))

    skew_small, skew_mid, skew_large = mean_skew(0.1), mean_skew(1.0), mean_skew(100.0)
    assert skew_small > skew_mid > skew_large
    assert skew_small > 0.5 and skew_large < 0.15


def test_dirichlet_is_deterministic_under_the_seed():
    sequences, labels = np.arange(30), np.arange(30) % 3

    first = partition_dirichlet(sequences, labels, 3, 0.5, np.random.default_rng(7))
    second = partition_dirichlet(sequences, labels, 3, 0.5, np.random.default_rng(7))

    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_dirichlet_rejects_bad_alpha_and_label_count():
    with pytest.raises(ValueError, match="alpha"):
        partition_dirichlet([1, 2, 3], [0, 0, 1], 2, alpha=0.0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="2 entries for 3 sequences"):
        partition_dirichlet([1, 2, 3], [0, 1], 2, alpha=1.0, rng=np.random.default_rng(0))


def test_label_skew_known_values():
    sequences, labels = np.array([1, 2, 3, 4]), np.array([0, 0, 1, 1])

    assert mean_label_skew([np.array([1, 3]), np.array([2, 4])], sequences, labels) == 0.0
    assert mean_label_skew([np.array([1, 2]), np.array([3, 4])], sequences, labels) == 1.0


def test_partition_by_ap_maps_nodes_to_aps():
    assert partition_by_ap(["ap1", "ap2", "ap3"]) == {0: "ap1", 1: "ap2", 2: "ap3"}
    with pytest.raises(ValueError, match="'ap2' is listed more than once"):
        partition_by_ap(["ap1", "ap2", "ap2"])


def test_sequence_beam_sectors_uses_the_median_beam():
    beam = np.array([1, 2, 3, 60, 61, 62, 30, 31, 33])
    seq_index = np.array([5, 5, 5, 9, 9, 9, 2, 2, 2])

    sequences, sectors = sequence_beam_sectors(beam, seq_index, num_sectors=4)

    assert sequences.tolist() == [5, 9, 2] and sectors.tolist() == [0, 3, 1]
