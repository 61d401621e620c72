"""The street from above: the access points, one vehicle track and each AP's predicted beams.

Nodes at different APs agree on where the vehicle is, not on beam indices; this figure shows both at
once. Each AP is drawn at its position with its boresight; at a few slots of one test sequence a ray
leaves every AP along the world direction of the beam its model predicts (solid) and of the true beam
(dotted), so a right prediction is a ray through the vehicle at that slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdcs.experiments.report.plots.figures import colour, new_figure, save_png
from kdcs.phy.ap_geometry import ApGeometry

SNAPSHOT_SLOTS = 4  # slots of the track with rays drawn
BORESIGHT_M = 6.0  # length of the boresight arrow


@dataclass(frozen=True)
class ApTrack:
    """One AP's view of the shown slots: its geometry, and per slot the predicted and true beam.

    predicted, true: [N] 0-based beam indices at the N slots of the track, in the AP's own codebook.
    label: the model shown (e.g. "radar student + multi-view KD").
    """

    geometry: ApGeometry
    predicted: np.ndarray
    true: np.ndarray
    label: str


def plot_street(track_m: np.ndarray, aps: list[ApTrack], title: str, path: Path) -> Path:
    """track_m: [N, 2] the vehicle's east, north (metres, world frame) at the N slots shown."""
    track = np.asarray(track_m, dtype=np.float64)
    figure = new_figure(11.0, 7.0)
    ax = figure.add_subplot(1, 1, 1)
    ax.plot(track[:, 0], track[:, 1], "-", color="0.35", lw=1.5, label="vehicle track (test sequence)")
    ax.plot(*track[0], "o", color="0.35", ms=5)
    picks = np.unique(np.linspace(0, len(track) - 1, SNAPSHOT_SLOTS).round().astype(int))
    ax.plot(track[picks, 0], track[picks, 1], "s", color="k", ms=5, label="slots with rays")
    for index, ap in enumerate(aps):
        _draw_ap(ax, ap, track, picks, colour(index))
    ax.set_aspect("equal")
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # off the street
    ax.set_title(title, fontsize=9)
    return save_png(figure, path)


def label_side(origin: np.ndarray, track: np.ndarray) -> tuple[np.ndarray, str]:
    """Where an AP's name goes: 1 m up and 1 m toward the track (its mean east), aligned so the text
    runs toward the street, not off the axes (an AP at the street's east end would write into the legend)."""
    inward = 1.0 if float(np.mean(track[:, 0])) >= float(origin[0]) else -1.0
    return np.array([inward, 1.0]), "left" if inward > 0 else "right"


def _draw_ap(ax, ap: ApTrack, track: np.ndarray, picks: np.ndarray, tint: str) -> None:
    geometry = ap.geometry
    origin = np.asarray(geometry.pose.position_m[:2], dtype=np.float64)
    hits = int((ap.predicted == ap.true).sum())
    ax.plot(
        *origin, "^", color=tint, ms=11, label=f"{geometry.name}: {ap.label} (top-1 {hits}/{len(ap.true)})"
    )
    boresight = geometry.pose.boresight_azimuth_rad
    ax.annotate(
        "",
        xy=origin + BORESIGHT_M * np.array([np.cos(boresight), np.sin(boresight)]),
        xytext=origin,
        arrowprops={"arrowstyle": "->", "color": tint, "lw": 1.2},
    )
    offset, align = label_side(origin, track)
    ax.text(*(origin + offset), geometry.name, color=tint, fontsize=9, weight="bold", ha=align)
    azimuths = geometry.beam_world_azimuths_rad()
    for slot in picks:
        reach = 1.15 * float(np.linalg.norm(track[slot] - origin))
        for beam, style in ((ap.predicted[slot], "-"), (ap.true[slot], ":")):
            direction = np.array([np.cos(azimuths[beam]), np.sin(azimuths[beam])])
            end = origin + reach * direction
            ax.plot([origin[0], end[0]], [origin[1], end[1]], style, color=tint, lw=1.0, alpha=0.8)
