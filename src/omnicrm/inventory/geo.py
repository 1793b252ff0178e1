"""Great-circle distances (haversine), one at a time or vectorised with numpy."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from omnicrm.inventory.model import GeoPoint

__all__ = ["EARTH_RADIUS_KM", "haversine_km", "haversine_km_many"]

EARTH_RADIUS_KM = 6371.0088
"""The mean Earth radius (IUGG), in kilometres."""

FloatArray = npt.NDArray[np.float64]


def haversine_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance between two points, in kilometres."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def haversine_km_many(lat_rad: FloatArray, lon_rad: FloatArray, point: GeoPoint) -> FloatArray:
    """Distances from ``point`` to many points given in radians, in kilometres."""
    lat0, lon0 = math.radians(point.latitude), math.radians(point.longitude)
    h = (
        np.sin((lat_rad - lat0) / 2) ** 2
        + math.cos(lat0) * np.cos(lat_rad) * np.sin((lon_rad - lon0) / 2) ** 2
    )
    result: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return result
