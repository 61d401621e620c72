"""The proxy set: sequences the centre keeps for itself, whose inputs it sends to the nodes once.

Protocols that exchange predictions (fed-distill, mutual, ensemble-to-central) need windows every
node can run its model on, so predictions can be compared and combined. Those windows are the
centre's own: before the nodes of the centre's AP are partitioned, the centre takes
`proxy_fraction` of that AP's training sequences out of the pool (`reserved_sequences`). No node's
private share, validation or test windows can then include them, and no node ever reads another
node's windows. The proxy windows are (at most `proxy_windows` of) the reserved sequences' windows,
evenly thinned.

The centre sends each node, once, the rows those windows cover, for the node's own inputs only
(`ProxyInputs.of`); the bytes are counted in the ledger like any payload (camera frames are by far
the largest). Labels are not sent: the beam array travels only to a node that reads the beam
history (an input), a node's loss on proxy windows is distillation only, and a node selects its
model on its own validation windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdcs.data.windows import WindowIndex, WindowSpec

# Arrays that may travel: a node's per-slot inputs plus what rebuilds its windows.
STRUCTURE = ("index", "seq_index")
PREFIX = "proxy."


def reserved_sequences(train_sequences: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """The centre's own sequences: round(fraction * S) of the AP's S training sequences (at least one
    when fraction > 0, and at least one left for the nodes), drawn with the run's seed, in input order."""
    sequences = np.asarray(train_sequences, dtype=np.int64)
    if fraction <= 0 or sequences.size < 2:
        return np.zeros(0, dtype=np.int64)
    count = min(max(int(round(fraction * sequences.size)), 1), sequences.size - 1)
    chosen = np.random.default_rng([seed, 104729]).choice(sequences.size, count, replace=False)
    return sequences[np.sort(chosen)]


def thinned(windows: WindowIndex, limit: int) -> WindowIndex:
    """At most `limit` windows, evenly spread over the given ones (all of them when fewer)."""
    if len(windows) <= limit:
        return windows
    keep = np.unique(np.linspace(0, len(windows) - 1, limit).round().astype(np.int64))
    return windows.subset(keep)


def covered_rows(windows: WindowIndex, seq_index: np.ndarray) -> np.ndarray:
    """Sorted rows that rebuild every window elsewhere: rows t-L..t+J of each window (t-L only inside
    its sequence, so the beam history of the window's first slot is the true previous beam)."""
    spec = windows.spec
    offsets = np.arange(-spec.history, spec.horizon + 1)
    rows = (windows.end_rows[:, None] + offsets[None, :]).reshape(-1)
    same_sequence = (rows >= 0) & (
        seq_index[np.clip(rows, 0, None)] == np.repeat(windows.seq_ids, offsets.size)
    )
    return np.unique(rows[same_sequence])


@dataclass
class ProxyInputs:
    """The rows of the proxy windows for one node's inputs, and the windows rebuilt over them.

    arrays: {"index", "seq_index", "beam", modality: [N, ...]} (a WindowBatcher source); "beam" is
        zeros (no labels) unless the node reads the beam history.
    window_ids: [P] sample ids of the proxy windows' end rows, in the centre's order.
    """

    arrays: dict[str, np.ndarray]
    window_ids: np.ndarray

    @classmethod
    def of(cls, cache_arrays, windows: WindowIndex, modalities: tuple[str, ...]) -> ProxyInputs:
        """What the centre sends a node reading `modalities`, from its own cache."""
        seq_index = np.asarray(cache_arrays["seq_index"])
        rows = covered_rows(windows, seq_index)
        arrays = {name: np.asarray(cache_arrays[name])[rows] for name in STRUCTURE}
        for modality in modalities:
            source = "beam" if modality == "beam_history" else modality
            arrays[source] = np.asarray(cache_arrays[source])[rows]
        ids = np.asarray(cache_arrays["index"], dtype=np.int64)[windows.end_rows]
        return cls(arrays, ids)

    def windows(self, spec: WindowSpec) -> WindowIndex:
        """The proxy windows over `arrays`, in `window_ids` order."""
        position = {int(v): k for k, v in enumerate(np.asarray(self.arrays["index"]).tolist())}
        ends = np.array([position[int(v)] for v in self.window_ids], dtype=np.int64)
        return WindowIndex(spec, ends, np.asarray(self.arrays["seq_index"], dtype=np.int64)[ends])

    def source(self) -> dict[str, np.ndarray]:
        """The arrays as a WindowBatcher source (a zero beam array when none was sent: no labels)."""
        if "beam" in self.arrays:
            return dict(self.arrays)
        return {**self.arrays, "beam": np.zeros(self.arrays["index"].shape, dtype=np.int64)}

    # ------------------------------------------------------------------ on the wire and on a node

    def to_tensors(self) -> dict[str, np.ndarray]:
        """Payload tensors. Floating arrays go as their raw bytes (uint8), so no payload encoding
        (fp16, int8, top-k) ever rounds an input; their dtype and shape are in `layout()`."""
        tensors = {"window_ids": self.window_ids.astype(np.int64)}
        for name, array in self.arrays.items():
            array = np.ascontiguousarray(array)
            tensors[PREFIX + name] = array.reshape(-1).view(np.uint8) if array.dtype.kind == "f" else array
        return tensors

    def layout(self) -> dict[str, dict]:
        return {name: {"dtype": a.dtype.name, "shape": list(a.shape)} for name, a in self.arrays.items()}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], layout: dict[str, dict]) -> ProxyInputs:
        arrays = {}
        for name, entry in layout.items():
            raw = np.asarray(tensors[PREFIX + name])
            dtype = np.dtype(entry["dtype"])
            value = raw.view(dtype) if dtype.kind == "f" else raw.astype(dtype, copy=False)
            arrays[name] = value.reshape(entry["shape"])
        return cls(arrays, np.asarray(tensors["window_ids"], dtype=np.int64))

    def to_state(self) -> dict[str, np.ndarray]:
        """Node-state entries (kept between rounds, on every engine)."""
        return {PREFIX + "window_ids": self.window_ids, **{PREFIX + k: v for k, v in self.arrays.items()}}

    @classmethod
    def from_state(cls, state: dict) -> ProxyInputs | None:
        if PREFIX + "window_ids" not in state:
            return None
        arrays = {
            k.removeprefix(PREFIX): np.asarray(v)
            for k, v in state.items()
            if k.startswith(PREFIX) and k != PREFIX + "window_ids"
        }
        return cls(arrays, np.asarray(state[PREFIX + "window_ids"], dtype=np.int64))
