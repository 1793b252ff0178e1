"""Unified points: one balance across channels and the companies of a group.

An append-only, double-entry, integer ledger; grants with their own expiry spent
limited-time and soonest-expiring first; provisional points; checkout holds; returns
in proportion; settlement between companies. Start with :class:`LoyaltyService`.
"""

from omnicrm.loyalty.errors import ExceedsHoldError, HoldNotActiveError, InsufficientPointsError
from omnicrm.loyalty.events import PointsEarned, PointsExpired, PointsReturned, PointsSpent
from omnicrm.loyalty.model import (
    Account,
    Allocation,
    BalanceSummary,
    EntryKind,
    Grant,
    GrantKind,
    GrantSummary,
    Hold,
    HoldState,
    LedgerEntry,
    Order,
    OrderPart,
)
from omnicrm.loyalty.ports import (
    AccountRepository,
    GrantRepository,
    HoldRepository,
    LedgerRepository,
    LoyaltyStore,
    LoyaltyUnitOfWork,
    OrderRepository,
    SummaryRepository,
)
from omnicrm.loyalty.program import Confirmation, EarnRule, Program
from omnicrm.loyalty.purchase import EarnPlan, Purchase, PurchaseLine, plan_earning
from omnicrm.loyalty.results import (
    Balance,
    CompanyBooks,
    ExpiringPoints,
    ExpiryReport,
    Receipt,
    Settlement,
)
from omnicrm.loyalty.service import LoyaltyService

__all__ = [
    "Account",
    "AccountRepository",
    "Allocation",
    "Balance",
    "BalanceSummary",
    "CompanyBooks",
    "Confirmation",
    "EarnPlan",
    "EarnRule",
    "EntryKind",
    "ExceedsHoldError",
    "ExpiringPoints",
    "ExpiryReport",
    "Grant",
    "GrantKind",
    "GrantRepository",
    "GrantSummary",
    "Hold",
    "HoldNotActiveError",
    "HoldRepository",
    "HoldState",
    "InsufficientPointsError",
    "LedgerEntry",
    "LedgerRepository",
    "LoyaltyService",
    "LoyaltyStore",
    "LoyaltyUnitOfWork",
    "Order",
    "OrderPart",
    "OrderRepository",
    "PointsEarned",
    "PointsExpired",
    "PointsReturned",
    "PointsSpent",
    "Program",
    "Purchase",
    "PurchaseLine",
    "Receipt",
    "Settlement",
    "SummaryRepository",
    "plan_earning",
]
