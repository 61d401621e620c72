"""Latitude/longitude to local metric coordinates and back.

A local tangent plane (equirectangular) approximation: errors stay below a millimetre
over the few hundred metres of a street scene, far below GPS noise.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_378_137.0  # WGS-84 equatorial radius


def latlon_to_east_north(origin_latlon_deg: np.ndarray, latlon_deg: np.ndarray) -> np.ndarray:
    """Input: origin [2] (lat, lon) degrees; points [..., 2] degrees. Output: [..., 2] east, north metres."""
    origin = np.asarray(origin_latlon_deg, dtype=np.float64)
    pts = np.asarray(latlon_deg, dtype=np.float64)
    north = np.deg2rad(pts[..., 0] - origin[0]) * EARTH_RADIUS_M
    east = np.deg2rad(pts[..., 1] - origin[1]) * EARTH_RADIUS_M * np.cos(np.deg2rad(origin[0]))
    return np.stack([east, north], axis=-1)


def east_north_to_latlon(origin_latlon_deg: np.ndarray, east_north_m: np.ndarray) -> np.ndarray:
    """Inverse of latlon_to_east_north. Output: [..., 2] latitude, longitude degrees."""
    origin = np.asarray(origin_latlon_deg, dtype=np.float64)
    en = np.asarray(east_north_m, dtype=np.float64)
    lat = origin[0] + np.rad2deg(en[..., 1] / EARTH_RADIUS_M)
    lon = origin[1] + np.rad2deg(en[..., 0] / (EARTH_RADIUS_M * np.cos(np.deg2rad(origin[0]))))
    return np.stack([lat, lon], axis=-1)
