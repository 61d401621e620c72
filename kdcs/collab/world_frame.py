"""Knowledge in a shared physical frame: vehicle positions every AP agrees on, and each AP's beams.

A beam index names a direction of one AP's codebook, so beam predictions cannot be pooled across
APs. A position can: nodes predict the vehicle's position at t..t+J in the world frame, with an
uncertainty (`kdcs.models.position_head`), the centre (or a node, for its peers) fuses them, and each
node turns the fused positions into soft labels over its own codebook through its own geometry: the
expected beam gain towards the predicted position (`kdcs.phy.ap_geometry`), sharpened by a power.
A node whose AP logs the vehicle's GPS validates its position output on its own validation windows;
`world.fusion: validated` fuses only such nodes, each weighted by the inverse of that error.

Positions are [..., 4]: east, north (metres, world frame), log std east, log std north.
"""

from __future__ import annotations

from collections.abc import Mapping

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
# Floor of a validated mean squared position error (m^2): keeps its log finite for a perfect node.
MSE_FLOOR_M2 = 1e-4
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


def calibrated(positions: np.ndarray, mse: np.ndarray) -> np.ndarray:
    """A node's positions [P, S, 4] with its validated error as their spread: log std = 0.5 log mse,
    per slot and axis (mse [S, 2], the same for every window). Fusing calibrated estimates weighs
    each node by the inverse of its validated variance rather than by the spread it claims."""
    positions = np.array(positions, dtype=np.float32)
    mse = np.maximum(np.asarray(mse, dtype=np.float64), MSE_FLOOR_M2)
    positions[..., 2:] = (0.5 * np.log(mse)).astype(np.float32)
    return positions


def validated_uploads(
    uploads: Mapping[str, np.ndarray], errors: Mapping[str, np.ndarray | None]
) -> dict[str, np.ndarray]:
    """`world.fusion: validated`: only the uploads of nodes that validated their position output (on
    their own windows, against their AP's GPS), calibrated by that error; every upload as sent when
    no node could validate (nothing better to go on)."""
    known = {
        name: calibrated(uploads[name], errors[name]) for name in uploads if errors.get(name) is not None
    }
    return known or dict(uploads)


def position_error_m(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Root mean squared distance (m) between predicted positions [..., >=2] and true ones [..., 2],
    over the entries whose truth is finite (NaN where none is)."""
    squared = ((np.asarray(predicted)[..., :2] - np.asarray(truth)[..., :2]) ** 2).sum(axis=-1)
    kept = np.isfinite(squared)
    return float(np.sqrt(squared[kept].mean())) if kept.any() else float("nan")


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


def own_gps(node: CollabNode) -> np.ndarray | None:
    """[N, 2] the vehicle's GPS position per row of the node's data in the world frame; None when its
    AP logs no vehicle GPS."""
    try:
        return vehicle_world_positions(node.data, node_frame(node))
    except GeometryError:
        return None


def own_position_targets(node: CollabNode, gps_std_m: float) -> CachedTeacher | None:
    """The node's own GPS track as position targets of every window it has (feature "position"
    [W, S, 4], spread `gps_std_m`: how far a fix is trusted); None when its AP logs no vehicle GPS."""
    positions = own_gps(node)
    if positions is None:
        return None
    windows = node.all_windows
    mean = positions[windows.target_rows]  # [W, S, 2]
    log_std = np.full(mean.shape, np.log(gps_std_m))
    targets = torch.from_numpy(np.concatenate([mean, log_std], axis=-1).astype(np.float32))
    no_logits = torch.zeros(len(windows), mean.shape[1], 1)  # position targets only: no term reads them
    return CachedTeacher(no_logits, {"position": targets}, windows.end_rows)


@torch.no_grad()
def predicted_positions(node: CollabNode, batches) -> np.ndarray:
    """The node's position output over `batches`, in their order. Output [W, S, 4] float32."""
    live = LiveTeacher(node.model)
    return torch.cat([live.outputs(batch)[1]["position"] for batch in batches]).float().numpy()


def proxy_positions(node: CollabNode) -> np.ndarray:
    """The node's predicted positions on the proxy windows, in the centre's order. Output [P, S, 4]."""
    return predicted_positions(node, node.proxy_batcher())


def validated_position_error(node: CollabNode) -> np.ndarray | None:
    """The node's position output on its own validation windows against its AP's GPS: mean squared
    error per slot and axis, [S, 2] (NaN fixes left out); None when its AP logs no vehicle GPS."""
    gps = own_gps(node)
    if gps is None:
        return None
    windows = node.data.windows["val"]
    predicted = predicted_positions(node, node.batcher(windows))[..., :2]  # [W, S, 2]
    squared = (predicted - gps[windows.target_rows]) ** 2
    if not np.isfinite(squared).any(axis=0).all():
        return None
    return np.nanmean(squared, axis=0)


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
