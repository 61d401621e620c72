"""Knowledge in a shared physical frame: vehicle positions every AP agrees on, and each AP's beams.

A beam index names a direction of one AP's codebook, so beam predictions cannot be pooled across
APs. A position can: nodes predict the vehicle's position at t..t+J in the world frame, with an
uncertainty (`kdcs.models.position_head`), the centre (or a node, for its peers) fuses them, and each
node turns the fused positions into soft labels over its own codebook through its own geometry: the
expected beam gain towards the predicted position (`kdcs.phy.ap_geometry`), sharpened by a power.

Positions are [..., 4]: east, north (metres, world frame), log std east, log std north.
"""

from __future__ import annotations

import numpy as np
import torch

from kdcs.collab.node import CollabNode
from kdcs.data.ap_geometry import (
    CodebookSpec,
    GeometryError,
    WorldFrame,
    data_geometry,
    vehicle_world_positions,
)
from kdcs.distill.teacher_outputs import CachedTeacher, LiveTeacher
from kdcs.phy.ap_geometry import ApGeometry

ORIGIN_STATE = "world.origin"  # node-state key of the frame's origin (latitude, longitude)
# Spread of a GPS fix as a position target: a floor that keeps its log finite; the student's own
# spread then learns how far its predictions fall from the fixes.
GPS_TARGET_STD_M = 1e-3
# Logits of a beam with zero expected gain (log 0 guarded).
GAIN_FLOOR = 1e-6


def fuse_positions(stack: np.ndarray, axis: int = 0) -> np.ndarray:
    """Several Gaussian position estimates of the same instants as one, per window, slot and axis.

    Weights are the estimates' precisions (1 / s^2); the fused mean is their weighted mean, and the
    fused variance the weighted mixture's (sum w_k (s_k^2 + (m_k - m)^2) / sum w_k), so estimates
    that disagree widen it and copies of one estimate do not narrow it (nodes share sensors).
    Input: [..., K, ..., 4] with the K estimates on `axis`. Output: the same without `axis`.
    """
    stack = np.asarray(stack, dtype=np.float64)
    mean, log_std = np.take(stack, [0, 1], axis=-1), np.take(stack, [2, 3], axis=-1)
    variance = np.exp(2.0 * log_std)
    weights = 1.0 / variance
    total = weights.sum(axis=axis, keepdims=True)
    fused_mean = (weights * mean).sum(axis=axis, keepdims=True) / total
    fused_var = (weights * (variance + (mean - fused_mean) ** 2)).sum(axis=axis, keepdims=True) / total
    fused = np.concatenate([fused_mean, 0.5 * np.log(fused_var)], axis=-1)
    return np.squeeze(fused, axis=axis).astype(np.float32)


def soft_label_logits(
    geometry: ApGeometry, positions: np.ndarray, power: float, temperature: float
) -> np.ndarray:
    """Logits over the AP's codebook from positions [..., 4]: softmax(logits / T) = E[gain]^power
    normalised, so a KD term at temperature T reads the expected gain raised to `power`.

    Output: [..., B] float32.
    """
    positions = np.asarray(positions, dtype=np.float64)
    gains = geometry.expected_beam_gains(positions[..., :2], np.exp(positions[..., 2:]))  # [..., B]
    return (temperature * power * np.log(gains + GAIN_FLOOR)).astype(np.float32)


# ---------------------------------------------------------------------- on a node


def node_frame(node: CollabNode) -> WorldFrame:
    origin = node.state.get(ORIGIN_STATE)
    if origin is None:
        raise RuntimeError(f"node {node.name!r} has not been told the world frame's origin")
    origin = np.asarray(origin, dtype=np.float64)
    return WorldFrame((float(origin[0]), float(origin[1])))


def node_geometry(node: CollabNode, codebook: CodebookSpec) -> ApGeometry:
    """The node's AP geometry in the shared frame (manifest, or orientation fitted on its own training
    windows); GeometryError naming what is missing."""
    geometry, _ = data_geometry(node.data, node_frame(node), codebook)
    return geometry


def own_position_targets(node: CollabNode) -> CachedTeacher | None:
    """The node's own GPS track as position targets of every window it has (feature "position"
    [W, S, 4]); None when its AP logs no vehicle GPS."""
    try:
        positions = vehicle_world_positions(node.data, node_frame(node))  # [N, 2]
    except GeometryError:
        return None
    windows = node.all_windows
    mean = positions[windows.target_rows]  # [W, S, 2]
    log_std = np.full(mean.shape, np.log(GPS_TARGET_STD_M))
    targets = torch.from_numpy(np.concatenate([mean, log_std], axis=-1).astype(np.float32))
    no_logits = torch.zeros(len(windows), mean.shape[1], 1)  # position targets only: no term reads them
    return CachedTeacher(no_logits, {"position": targets}, windows.end_rows)


@torch.no_grad()
def proxy_positions(node: CollabNode) -> np.ndarray:
    """The node's predicted positions on the proxy windows, in the centre's order. Output [P, S, 4]."""
    live = LiveTeacher(node.model)
    parts = [live.outputs(batch)[1]["position"] for batch in node.proxy_batcher()]
    return torch.cat(parts).float().numpy()


def world_knowledge(
    node: CollabNode, positions: np.ndarray, codebook: CodebookSpec, power: float, temperature: float
) -> CachedTeacher:
    """Received positions on the proxy windows ([P, S, 4], or [P, K, S, 4] from K peers: fused here)
    as a teacher source: the node's soft labels through its geometry, and the positions themselves."""
    positions = np.asarray(positions, dtype=np.float32)
    if positions.ndim == 4:
        positions = fuse_positions(positions, axis=1)
    logits = soft_label_logits(node_geometry(node, codebook), positions, power, temperature)
    rows = node.proxy.windows(node.data.spec).end_rows
    return CachedTeacher(torch.from_numpy(logits), {"position": torch.from_numpy(positions)}, rows)
