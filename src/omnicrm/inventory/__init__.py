"""Cross-channel inventory: stock per SKU x location, holds, availability and sourcing.

Quantities are named states (on hand, held, committed, incoming, safety stock) kept as
the sum of recorded movements; available-to-promise per channel subtracts the channel's
buffer and is never negative. Holds are conditional writes, so no backend oversells.
"""

from omnicrm.inventory._results import InventoryResult
from omnicrm.inventory.availability import LocationAvailability, ProductAvailability
from omnicrm.inventory.errors import HoldExpiredError, HoldStateError, InsufficientStockError
from omnicrm.inventory.events import HoldChanged, HoldPlaced, StockMoved
from omnicrm.inventory.geo import haversine_km
from omnicrm.inventory.holds import DEFAULT_HOLD_TTL, Hold, HoldKind, HoldLine, HoldStatus
from omnicrm.inventory.model import (
    ChannelLocation,
    ChannelRoute,
    DailyHours,
    GeoPoint,
    Item,
    KitComponent,
    Location,
    LocationCapability,
    LocationKind,
    OpeningHours,
)
from omnicrm.inventory.ports import (
    ChannelRouteRepository,
    HoldRepository,
    InventoryStore,
    InventoryUnitOfWork,
    ItemRepository,
    LocationRepository,
    StockRepository,
)
from omnicrm.inventory.service import InventoryService
from omnicrm.inventory.sourcing import (
    DeliveryMethod,
    FulfilmentPlan,
    OrderLine,
    PlanRule,
    Shipment,
    SourcingContext,
    SourcingRequest,
    SourcingStrategy,
)
from omnicrm.inventory.stock import Movement, MovementReason, StockLevel, replay
from omnicrm.inventory.strategies import (
    FewestShipments,
    Nearest,
    PickupStoreIfComplete,
    RankedSearch,
    SameRegion,
    SourcingPolicy,
    WarehouseFirst,
)

__all__ = [
    "DEFAULT_HOLD_TTL",
    "ChannelLocation",
    "ChannelRoute",
    "ChannelRouteRepository",
    "DailyHours",
    "DeliveryMethod",
    "FewestShipments",
    "FulfilmentPlan",
    "GeoPoint",
    "Hold",
    "HoldChanged",
    "HoldExpiredError",
    "HoldKind",
    "HoldLine",
    "HoldPlaced",
    "HoldRepository",
    "HoldStateError",
    "HoldStatus",
    "InsufficientStockError",
    "InventoryResult",
    "InventoryService",
    "InventoryStore",
    "InventoryUnitOfWork",
    "Item",
    "ItemRepository",
    "KitComponent",
    "Location",
    "LocationAvailability",
    "LocationCapability",
    "LocationKind",
    "LocationRepository",
    "Movement",
    "MovementReason",
    "Nearest",
    "OpeningHours",
    "OrderLine",
    "PickupStoreIfComplete",
    "PlanRule",
    "ProductAvailability",
    "RankedSearch",
    "SameRegion",
    "Shipment",
    "SourcingContext",
    "SourcingPolicy",
    "SourcingRequest",
    "SourcingStrategy",
    "StockLevel",
    "StockMoved",
    "StockRepository",
    "WarehouseFirst",
    "haversine_km",
    "replay",
]
