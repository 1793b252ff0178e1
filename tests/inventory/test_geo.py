import math

import numpy as np
from hypothesis import given, settings

from omnicrm.inventory import GeoPoint, haversine_km
from omnicrm.inventory.geo import haversine_km_many
from omnicrm.testing.strategies_inventory import geo_points

TOKYO = GeoPoint(35.6812, 139.7671)
OSAKA = GeoPoint(34.7025, 135.4959)


def test_known_distances() -> None:
    assert math.isclose(haversine_km(TOKYO, OSAKA), 403.5, abs_tol=1.0)
    assert haversine_km(TOKYO, TOKYO) == 0.0
    antipode = haversine_km(GeoPoint(0, 0), GeoPoint(0, 180))
    assert math.isclose(antipode, math.pi * 6371.0088, rel_tol=1e-9)
    assert math.isclose(haversine_km(GeoPoint(0, 179.9), GeoPoint(0, -179.9)), 22.24, abs_tol=0.05)


@settings(max_examples=50)
@given(geo_points(), geo_points())
def test_vectorised_agrees_with_scalar_and_is_symmetric(a: GeoPoint, b: GeoPoint) -> None:
    lat, lon = np.radians([b.latitude]), np.radians([b.longitude])
    many = float(haversine_km_many(lat, lon, a)[0])
    assert math.isclose(many, haversine_km(a, b), abs_tol=1e-6)
    assert math.isclose(haversine_km(a, b), haversine_km(b, a), abs_tol=1e-6)
