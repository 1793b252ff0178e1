"""The testing kit for host applications: fakes, strategies, contract suites, fixtures.

- :mod:`omnicrm.testing.fakes` (re-exported here): clocks, ids, an event bus;
- :mod:`omnicrm.testing.strategies`: hypothesis strategies (needs hypothesis);
- :mod:`omnicrm.testing.contracts`: contract suites for storage backends (needs pytest
  and hypothesis);
- :mod:`omnicrm.testing.plugin`: the pytest plugin with ``omnicrm_`` fixtures.
"""

from omnicrm.testing.fakes import FixedClock, RecordingEventBus, SequentialIds, SteppingClock

__all__ = ["FixedClock", "RecordingEventBus", "SequentialIds", "SteppingClock"]
