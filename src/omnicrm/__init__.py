"""omnicrm: embeddable omnichannel CRM logic.

The core values live in small modules beside this one (:mod:`omnicrm.errors`,
:mod:`omnicrm.clock`, :mod:`omnicrm.money`, :mod:`omnicrm.channel`, ...); each
capability is a package of its own (:mod:`omnicrm.customers`, ...). Storage is
opened with :func:`omnicrm.open_store`; :class:`omnicrm.OmniCRM` runs them all together
over one store.
"""

from typing import TYPE_CHECKING, Any

from omnicrm.channel import Channel
from omnicrm.clock import Clock, SystemClock
from omnicrm.errors import OmniCRMError
from omnicrm.events import DomainEvent
from omnicrm.money import Money

if TYPE_CHECKING:
    from omnicrm.omni import OmniCRM

__all__ = [
    "Channel",
    "Clock",
    "DomainEvent",
    "Money",
    "OmniCRM",
    "OmniCRMError",
    "SystemClock",
    "__version__",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Import :class:`OmniCRM` on first use (it loads every capability)."""
    if name == "OmniCRM":
        from omnicrm.omni import OmniCRM

        return OmniCRM
    raise AttributeError(f"module 'omnicrm' has no attribute {name!r}")
