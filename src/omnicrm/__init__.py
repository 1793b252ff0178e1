"""omnicrm: embeddable omnichannel CRM logic.

The core values live in small modules beside this one (:mod:`omnicrm.errors`,
:mod:`omnicrm.clock`, :mod:`omnicrm.money`, :mod:`omnicrm.channel`, ...); each
capability is a package of its own (:mod:`omnicrm.customers`, ...). Storage is
opened with :func:`omnicrm.open_store`.
"""

from omnicrm.channel import Channel
from omnicrm.clock import Clock, SystemClock
from omnicrm.errors import OmniCRMError
from omnicrm.events import DomainEvent
from omnicrm.money import Money

__all__ = ["Channel", "Clock", "DomainEvent", "Money", "OmniCRMError", "SystemClock", "__version__"]

__version__ = "0.1.0"
