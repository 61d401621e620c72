"""The 60 GHz vehicle-to-AP channel from scene geometry, and the per-beam received power.

Paths (ray optics on the street): line of sight; the ground reflection (image of the antenna
below the road); specular reflections off the two building facades (images across each facade
plane); single-bounce scattering off poles and building corners. Mirror paths (ground, facades)
have Friis loss over their unfolded length times a reflection coefficient; point scatterers follow
the bistatic radar equation with their radar cross section, sqrt(sigma) * lambda /
((4 pi)^1.5 d1 d2), which is what keeps a pole weak next to the line of sight (their
`reflection_coefficient` is not used here). Every path also has the AP element pattern
(a panel radiates forwards: paths from behind are attenuated), a carrier phase, and a blockage
loss when a vehicle body cuts one of its segments. The channel vector is the coherent sum of the
paths' array responses. How an AP measures the power of each beam (noise, the channel moving
during the sweep) is `kdcs.phy.beam_sweep`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdcs.phy.array import UniformLinearArray
from kdcs.phy.scene import ApPose, Snapshot, StaticScene, Vehicle

BOLTZMANN_NOISE_DBM_PER_HZ = -174.0  # kT at 290 K


@dataclass(frozen=True)
class ChannelConfig:
    """Link budget and propagation switches.

    Parameters
    ----------
    tx_power_dbm: radiated power of the vehicle's quasi-omni transmitter (EIRP), dBm. The default
        puts a clear line of sight 5-15 dB over the noise floor of a beam sweep across the street
        (median ~10 dB), near DeepSense's low sweep SNR (scenario 5: 3-9 dB, median 7 dB).
    bandwidth_hz: receiver noise bandwidth, Hz.
    noise_figure_db: receiver noise figure, dB.
    ground_reflection_coefficient: amplitude reflection of the road (negative = phase flip).
    facade_reflection_coefficient: amplitude reflection of the building facades.
    blockage_loss_db: extra loss of a path whose segment crosses a vehicle body, dB.
    element_back_lobe_db: the AP element's power gain for paths from behind its panel, dB.
    include_ground_reflection, include_facades, include_scatterers: turn path families on/off
        (all off = line of sight only, used by tests).
    """

    tx_power_dbm: float = 8.0
    bandwidth_hz: float = 100e6
    noise_figure_db: float = 7.0
    ground_reflection_coefficient: float = -0.45
    facade_reflection_coefficient: float = 0.3
    blockage_loss_db: float = 25.0
    element_back_lobe_db: float = -20.0
    include_ground_reflection: bool = True
    include_facades: bool = True
    include_scatterers: bool = True

    @property
    def noise_power_mw(self) -> float:
        """Thermal noise power in the receiver bandwidth, milliwatts."""
        noise_dbm = BOLTZMANN_NOISE_DBM_PER_HZ + 10.0 * np.log10(self.bandwidth_hz) + self.noise_figure_db
        return float(10.0 ** (noise_dbm / 10.0))


@dataclass(frozen=True)
class PropagationPaths:
    """P propagation paths from the transmitter to one AP.

    Attributes: azimuth_rad [P], elevation_rad [P] (arrival direction in the AP frame), length_m [P]
    (unfolded), amplitude [P] real field amplitude gain (Friis, reflection coefficient, element
    pattern and blockage included; negative = phase flip), length_rate_mps [P] how fast each
    path's length grows while the transmitter drives along its heading (m/s), blocked [P] bool,
    kind [P] str ("los", "ground", "facade", "scatterer").
    """

    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    length_m: np.ndarray
    amplitude: np.ndarray
    length_rate_mps: np.ndarray
    blocked: np.ndarray
    kind: tuple[str, ...]


def free_space_path_loss_db(distance_m: np.ndarray | float, carrier_frequency_hz: float) -> np.ndarray:
    """Friis free-space path loss 20*log10(4*pi*d/lambda), dB, for isotropic antennas. Shape follows input."""
    wavelength = UniformLinearArray(carrier_frequency_hz=carrier_frequency_hz).wavelength_m
    return 20.0 * np.log10(4.0 * np.pi * np.asarray(distance_m, dtype=np.float64) / wavelength)


def segments_blocked(start_m: np.ndarray, end_m: np.ndarray, blockers: tuple[Vehicle, ...]) -> np.ndarray:
    """Whether each straight segment passes through any vehicle's bounding box (slab test).

    Input: start, end [P, 3] world metres; blockers: vehicles whose bodies can block.
    Output: [P] bool.
    """
    start = np.asarray(start_m, dtype=np.float64)
    end = np.asarray(end_m, dtype=np.float64)
    blocked = np.zeros(start.shape[0], dtype=bool)
    for vehicle in blockers:
        c, s = np.cos(vehicle.heading_rad), np.sin(vehicle.heading_rad)
        rotation = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])  # world -> body
        origin = np.array([vehicle.position_m[0], vehicle.position_m[1], 0.0])
        p0 = (start - origin) @ rotation.T  # [P, 3]
        direction = (end - start) @ rotation.T  # [P, 3]
        low = np.array([-vehicle.length_m / 2, -vehicle.width_m / 2, 0.0])
        high = np.array([vehicle.length_m / 2, vehicle.width_m / 2, vehicle.height_m])
        with np.errstate(divide="ignore", invalid="ignore"):
            t_a = (low - p0) / direction
            t_b = (high - p0) / direction
        # Axis-parallel segments: inside the slab for all t, or never.
        parallel = np.abs(direction) < 1e-12
        inside = (p0 >= low) & (p0 <= high)
        t_near = np.where(parallel, np.where(inside, -np.inf, np.inf), np.minimum(t_a, t_b))
        t_far = np.where(parallel, np.where(inside, np.inf, -np.inf), np.maximum(t_a, t_b))
        enter = np.max(t_near, axis=1)
        leave = np.min(t_far, axis=1)
        blocked |= (enter <= leave) & (leave > 0.0) & (enter < 1.0)
    return blocked


def _facade_planes(scene: StaticScene) -> list[tuple[float, np.ndarray]]:
    """(facade y, [K, 2] x extents of the buildings on it) for the south and north sides."""
    boxes = scene.background_boxes
    planes = []
    for south in (True, False):
        side = boxes[boxes[:, 3] < 0] if south else boxes[boxes[:, 1] > 0]
        if len(side):
            facade_y = float(side[:, 3].max()) if south else float(side[:, 1].min())
            planes.append((facade_y, side[:, [0, 2]]))
    return planes


def _mirror_bounces(
    pose: ApPose, antenna: np.ndarray, scene: StaticScene, config: ChannelConfig
) -> list[tuple]:
    """(bounce point [3], reflection coefficient, kind) of the ground and facade mirror paths."""
    ap = pose.position_m
    bounces = []
    if config.include_ground_reflection:
        fraction = ap[2] / (ap[2] + antenna[2])  # where the ray to the image meets z = 0
        image = np.array([antenna[0], antenna[1], -antenna[2]])
        bounces.append((ap + fraction * (image - ap), config.ground_reflection_coefficient, "ground"))
    if config.include_facades:
        for facade_y, extents in _facade_planes(scene):
            if (ap[1] - facade_y) * (antenna[1] - facade_y) <= 0:
                continue  # AP and vehicle on different sides of the facade: no specular bounce
            image_y = 2.0 * facade_y - antenna[1]
            fraction = (facade_y - ap[1]) / (image_y - ap[1])
            point = ap + fraction * (np.array([antenna[0], image_y, antenna[2]]) - ap)
            if np.any((extents[:, 0] <= point[0]) & (point[0] <= extents[:, 1])):
                bounces.append((point, config.facade_reflection_coefficient, "facade"))
    return bounces


def _bounce_table(
    pose: ApPose, antenna: np.ndarray, scene: StaticScene, config: ChannelConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """All single-bounce paths as arrays.

    Output: points [M, 3] bounce points, factor [M] (mirror reflection coefficient, or radar cross
    section m^2 for a scatterer), is_scatterer [M] bool, kinds (M names).
    """
    mirrors = _mirror_bounces(pose, antenna, scene, config)
    scatterers = scene.scatterers if config.include_scatterers else ()
    points = np.array([m[0] for m in mirrors] + [s.position_m for s in scatterers], dtype=np.float64)
    factor = np.array(
        [m[1] for m in mirrors] + [s.radar_cross_section_m2 for s in scatterers], dtype=np.float64
    )
    is_scatterer = np.arange(len(factor)) >= len(mirrors)
    kinds = tuple(m[2] for m in mirrors) + ("scatterer",) * len(scatterers)
    return points.reshape(-1, 3), factor, is_scatterer, kinds


def propagation_paths(
    pose: ApPose, snapshot: Snapshot, scene: StaticScene, config: ChannelConfig, carrier_frequency_hz: float
) -> PropagationPaths:
    """All paths from the transmitter's antenna to the AP at one instant.

    Output: PropagationPaths with P = 1 + (bounce paths); path 0 is the line of sight.
    """
    ap = np.asarray(pose.position_m, dtype=np.float64)
    antenna = snapshot.transmitter.antenna_position_m
    blockers = snapshot.vehicles[1:]
    bounces, bounce_factor, bounce_is_scatterer, kinds = _bounce_table(pose, antenna, scene, config)
    points = np.concatenate([antenna[None], bounces])  # [P, 3] the last point before the AP
    first_leg = np.linalg.norm(points - ap, axis=1)  # [P]
    second_leg = np.concatenate([[0.0], np.linalg.norm(bounces - antenna, axis=1)])  # [P]
    length = first_leg + second_leg
    blocked = segments_blocked(np.broadcast_to(ap, points.shape), points, blockers)
    blocked[1:] |= segments_blocked(bounces, np.broadcast_to(antenna, bounces.shape), blockers)
    _, azimuth, elevation = pose.range_azimuth_elevation(points)
    wavelength = UniformLinearArray(carrier_frequency_hz=carrier_frequency_hz).wavelength_m
    back_lobe = 10.0 ** (config.element_back_lobe_db / 10.0)
    element_power = np.maximum(np.cos(azimuth) * np.cos(elevation), back_lobe)  # a panel looks forwards
    factor = np.concatenate([[1.0], bounce_factor])
    is_scatterer = np.concatenate([[False], bounce_is_scatterer])
    mirror_gain = factor * wavelength / (4.0 * np.pi * length)
    bistatic_gain = (
        np.sqrt(np.abs(factor))
        * wavelength
        / ((4.0 * np.pi) ** 1.5 * first_leg * np.maximum(second_leg, 1e-3))
    )
    amplitude = (
        np.where(is_scatterer, bistatic_gain, mirror_gain)
        * np.sqrt(element_power)
        * np.where(blocked, 10.0 ** (-config.blockage_loss_db / 20.0), 1.0)
    )
    rate = _length_rates(snapshot.transmitter, np.concatenate([ap[None], bounces]))
    return PropagationPaths(azimuth, elevation, length, amplitude, rate, blocked, ("los", *kinds))


def _length_rates(transmitter: Vehicle, last_points_m: np.ndarray) -> np.ndarray:
    """[P] d(path length)/dt, m/s, of paths whose last point before the transmitter is given [P, 3].

    Moving the antenna by dA changes a straight or a specular path by dA along the unit vector from
    its last point (the AP, a bounce point) to the antenna: the bounce point itself moves too, but by
    Fermat's principle that costs nothing to first order. Lateral wander is left out (it is slow).
    """
    velocity = transmitter.speed_mps * np.array(
        [np.cos(transmitter.heading_rad), np.sin(transmitter.heading_rad), 0.0]
    )
    leg = transmitter.antenna_position_m - last_points_m  # [P, 3]
    return leg @ velocity / np.maximum(np.linalg.norm(leg, axis=1), 1e-9)


def channel_vector(
    array: UniformLinearArray, pose: ApPose, snapshot: Snapshot, scene: StaticScene, config: ChannelConfig
) -> np.ndarray:
    """Narrowband channel from the transmitter to the AP's array.

    Output: h [N] complex128 in sqrt(milliwatt) units: |w^H h|^2 is the received power, mW, of a
    unit-norm combiner w (so a matched beam on a single path gets P_tx * Friis * N).
    """
    paths = propagation_paths(pose, snapshot, scene, config, array.carrier_frequency_hz)
    return channel_from_paths(array, paths, config)


def channel_from_paths(
    array: UniformLinearArray, paths: PropagationPaths, config: ChannelConfig
) -> np.ndarray:
    """Coherent sum of the paths' array responses. Output: h [N] complex128, sqrt(milliwatt) units."""
    tx_amplitude = np.sqrt(10.0 ** (config.tx_power_dbm / 10.0))
    phases = np.exp(-2j * np.pi * paths.length_m / array.wavelength_m)  # [P]
    responses = array.steering_vector(paths.azimuth_rad, paths.elevation_rad) * np.sqrt(array.num_antennas)
    return tx_amplitude * (paths.amplitude * phases) @ responses  # [N]


def line_of_sight_azimuth(pose: ApPose, snapshot: Snapshot) -> float:
    """Azimuth of the transmitter's antenna seen from the AP, rad (0 = boresight, + = left)."""
    _, azimuth, _ = pose.range_azimuth_elevation(snapshot.transmitter.antenna_position_m)
    return float(azimuth)
