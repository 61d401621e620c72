"""Train/val/test splits by sequence, and partitions of sequences over collaborating nodes.

Everything works on whole sequences (seq_index values), never on single windows, so neighbouring,
nearly identical frames never land on both sides of a split. Results keep sequence order.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from kdcs.data.windows import WindowIndex

SPLIT_NAMES = ("train", "val", "test")


def _as_sequence_array(sequences: Sequence[int] | np.ndarray) -> np.ndarray:
    values = np.asarray(sequences, dtype=np.int64).reshape(-1)
    if np.unique(values).size != values.size:
        raise ValueError("sequence ids must be distinct")
    return values


def _split_counts(num_sequences: int, fractions: np.ndarray) -> np.ndarray:
    """Integer counts summing to num_sequences (largest remainder), >= 1 for every positive fraction."""
    exact = fractions * num_sequences
    counts = np.floor(exact).astype(np.int64)
    by_remainder = np.argsort(-(exact - counts), kind="stable")
    counts[by_remainder[: num_sequences - counts.sum()]] += 1
    for k in np.flatnonzero((fractions > 0) & (counts == 0)):
        counts[np.argmax(counts)] -= 1  # the donor keeps >= 1: the caller ensured enough sequences
        counts[k] = 1
    return counts


def split_sequences(
    sequences: Sequence[int] | np.ndarray, fractions: Sequence[float] = (0.7, 0.1, 0.2)
) -> dict[str, np.ndarray]:
    """Consecutive train / val / test blocks of sequences, in the order given.

    The first ~fractions[0] of the sequences train, the next ~fractions[1] validate, the rest test
    (as in the paper, whose sequences are in time order). Counts are rounded by largest remainder;
    every part with a positive fraction gets at least one sequence.

    Input: sequences [S] distinct ids in order; fractions (train, val, test), >= 0, summing to 1.
    Output: {"train": [S_tr], "val": [S_va], "test": [S_te]} int64 arrays (disjoint, covering all).
    """
    seqs = _as_sequence_array(sequences)
    fractions_array = np.asarray(fractions, dtype=np.float64)
    if (
        fractions_array.shape != (3,)
        or np.any(fractions_array < 0)
        or not np.all(np.isfinite(fractions_array))
    ):
        raise ValueError(
            f"split fractions must be three non-negative numbers (train, val, test), got {fractions}"
        )
    if abs(fractions_array.sum() - 1.0) > 1e-6:
        raise ValueError(
            f"split fractions must sum to 1, got {tuple(fractions)} (sum {fractions_array.sum():g})"
        )
    needed = int(np.count_nonzero(fractions_array))
    if seqs.size < needed:
        raise ValueError(
            f"cannot split {seqs.size} sequence(s) into {needed} non-empty parts with fractions {tuple(fractions)}; "
            "use more sequences or explicit_split"
        )
    counts = _split_counts(seqs.size, fractions_array)
    edges = np.concatenate([[0], np.cumsum(counts)])
    return {name: seqs[edges[k] : edges[k + 1]] for k, name in enumerate(SPLIT_NAMES)}


def explicit_split(
    sequences: Sequence[int] | np.ndarray,
    train: Sequence[int],
    val: Sequence[int],
    test: Sequence[int],
) -> dict[str, np.ndarray]:
    """Splits from explicit sequence-id lists; ids not listed anywhere are left out.

    Raises ValueError naming the first unknown id or the first id listed in two splits.
    Output: {"train", "val", "test"} int64 arrays, each in the order of `sequences`.
    """
    seqs = _as_sequence_array(sequences)
    known = set(seqs.tolist())
    owner: dict[int, str] = {}
    for name, ids in zip(SPLIT_NAMES, (train, val, test), strict=True):
        for seq_id in (int(v) for v in ids):
            if seq_id not in known:
                raise ValueError(f"{name} split lists sequence {seq_id}, which is not in the data")
            if seq_id in owner:
                raise ValueError(f"sequence {seq_id} is listed in both the {owner[seq_id]} and {name} splits")
            owner[seq_id] = name
    return {name: seqs[[owner.get(int(s)) == name for s in seqs]] for name in SPLIT_NAMES}


def windows_in_sequences(window_index: WindowIndex, seq_ids: Sequence[int] | np.ndarray) -> WindowIndex:
    """The windows whose sequence is one of seq_ids (row order kept)."""
    return window_index.subset(np.isin(window_index.seq_ids, np.asarray(seq_ids, dtype=np.int64)))


# ------------------------------------------------------------------------------------ node partitions


def _check_node_count(num_sequences: int, num_nodes: int) -> None:
    if num_nodes < 1:
        raise ValueError(f"num_nodes must be >= 1, got {num_nodes}")
    if num_nodes > num_sequences:
        raise ValueError(
            f"cannot give {num_nodes} nodes at least one sequence each from {num_sequences} sequences"
        )


def _in_sequence_order(seqs: np.ndarray, members: list[np.ndarray]) -> list[np.ndarray]:
    position = {int(s): k for k, s in enumerate(seqs)}
    return [np.asarray(sorted(m.tolist(), key=position.__getitem__), dtype=np.int64) for m in members]


def partition_iid(
    sequences: Sequence[int] | np.ndarray, num_nodes: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffle sequences and deal them out in near-equal shares (sizes differ by at most one).

    Output: list of num_nodes int64 arrays (node k's sequence ids, in the input order), disjoint, covering all.
    """
    seqs = _as_sequence_array(sequences)
    _check_node_count(seqs.size, num_nodes)
    shares = np.array_split(rng.permutation(seqs), num_nodes)
    return _in_sequence_order(seqs, shares)


def partition_dirichlet(
    sequences: Sequence[int] | np.ndarray,
    labels_per_sequence: Sequence[Hashable] | np.ndarray,
    num_nodes: int,
    alpha: float,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Label-skewed (non-IID) partition: each label's sequences are spread over nodes by Dirichlet(alpha).

    For every label a share vector p ~ Dirichlet(alpha * ones(num_nodes)) is drawn and that label's
    sequences (in random order) are cut at the cumulative shares. Small alpha concentrates each
    label on few nodes (strong skew); large alpha approaches an IID split. A node left empty then
    takes one sequence from the largest node, so every node holds at least one sequence.

    Input: sequences [S]; labels_per_sequence [S] (e.g. a coarse beam sector per sequence);
        alpha > 0. Output: list of num_nodes int64 arrays, disjoint, covering all, in input order.
    """
    seqs = _as_sequence_array(sequences)
    labels = np.asarray(labels_per_sequence)
    if labels.shape != seqs.shape:
        raise ValueError(f"labels_per_sequence has {labels.size} entries for {seqs.size} sequences")
    if not alpha > 0:
        raise ValueError(f"Dirichlet alpha must be > 0, got {alpha}")
    _check_node_count(seqs.size, num_nodes)
    members: list[list[int]] = [[] for _ in range(num_nodes)]
    for label in np.unique(labels):
        group = rng.permutation(seqs[labels == label])
        shares = rng.dirichlet(np.full(num_nodes, float(alpha)))
        cuts = np.round(np.cumsum(shares)[:-1] * group.size).astype(np.int64)
        for node, part in enumerate(np.split(group, cuts)):
            members[node].extend(part.tolist())
    for node in range(num_nodes):
        if not members[node]:
            donor = max(range(num_nodes), key=lambda k: len(members[k]))
            members[node].append(members[donor].pop(int(rng.integers(len(members[donor])))))
    return _in_sequence_order(seqs, [np.asarray(m, dtype=np.int64) for m in members])


def partition_by_ap(ap_names: Sequence[str]) -> dict[int, str]:
    """One node per access point: node k trains on the table of ap_names[k].

    Output: {node_id: ap_name}. Raises ValueError on a repeated AP name.
    """
    names = list(ap_names)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"access point {repeated[0]!r} is listed more than once")
    return dict(enumerate(names))


# ------------------------------------------------------------------------------- labels and skew


def sequence_beam_sectors(
    beam: np.ndarray, seq_index: np.ndarray, num_sectors: int = 4, num_beams: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """A coarse label per sequence for Dirichlet partitions: the sector of its median beam.

    Sector k covers beams [k * num_beams / num_sectors, (k+1) * num_beams / num_sectors).
    Input: beam [N] 0-based, seq_index [N]. Output: (sequences [S] in first-appearance order, sectors [S] int64).
    """
    seq = np.asarray(seq_index)
    _, first = np.unique(seq, return_index=True)
    sequences = seq[np.sort(first)]
    medians = np.array([np.median(np.asarray(beam)[seq == s]) for s in sequences])
    sectors = np.clip((medians * num_sectors // num_beams).astype(np.int64), 0, num_sectors - 1)
    return sequences.astype(np.int64), sectors


def mean_label_skew(partitions: list[np.ndarray], sequences: np.ndarray, labels: np.ndarray) -> float:
    """Mean total-variation distance between the label histograms of every pair of nodes.

    0 = all nodes see the same label mix; 1 = no two nodes share a label.
    """
    label_of = dict(zip(np.asarray(sequences).tolist(), np.asarray(labels).tolist(), strict=True))
    classes = sorted(set(label_of.values()))
    histograms = []
    for members in partitions:
        counts = np.array([sum(label_of[int(s)] == c for s in members) for c in classes], dtype=np.float64)
        histograms.append(counts / max(counts.sum(), 1.0))
    distances = [
        0.5 * np.abs(histograms[i] - histograms[j]).sum()
        for i in range(len(histograms))
        for j in range(i + 1, len(histograms))
    ]
    return float(np.mean(distances)) if distances else 0.0
