"""One Omni-CRM: every capability over one store, joined by domain events.

Start with :class:`OmniCRM`; see ``docs/omnicrm.md``.
"""

from omnicrm.omni.app import POINTS_EXPIRING, PURCHASE, STOCK_BACK, OmniCRM
from omnicrm.omni.events import PurchaseRecorded
from omnicrm.omni.model import PurchaseRecord, Watch
from omnicrm.omni.ports import OmniUnitOfWork, PurchaseLog, WatchList

__all__ = [
    "POINTS_EXPIRING",
    "PURCHASE",
    "STOCK_BACK",
    "OmniCRM",
    "OmniUnitOfWork",
    "PurchaseLog",
    "PurchaseRecord",
    "PurchaseRecorded",
    "Watch",
    "WatchList",
]
