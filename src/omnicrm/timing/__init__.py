"""Timing CRM: the customer-origin trigger engine.

Journeys of stages and steps (waits, waits for an event, branches, actions, exits) are
data; the :class:`Engine` turns customer events and clock ticks into actions due now,
each with a deterministic id, through quiet hours, frequency caps, consent, a holdout
group and a per-customer channel choice. :func:`evaluate` judges every touchpoint by
its effect against its cost.
"""

from omnicrm.timing.campaigns import Campaign
from omnicrm.timing.channels import ChannelChoice, ChannelPolicy, ChannelRule, choose_channel
from omnicrm.timing.conditions import Condition, Facts
from omnicrm.timing.errors import (
    JourneyDefinitionError,
    UnknownEventTypeError,
    UnmergeConflictError,
)
from omnicrm.timing.evaluation import Evaluation, Kpi, KpiResult, TouchpointStats, evaluate
from omnicrm.timing.guards import CapPolicy, FrequencyCap, GuardPolicy, LocalWindow, next_allowed
from omnicrm.timing.loader import (
    journey_from_dict,
    journey_to_dict,
    load_journeys,
    load_journeys_json,
    load_journeys_toml,
    parse_duration,
)
from omnicrm.timing.model import (
    Action,
    ActionKind,
    Branch,
    Case,
    Exit,
    Journey,
    Reentry,
    Stage,
    Step,
    Trigger,
    Wait,
    WaitForEvent,
    WaitRelative,
    WaitUntil,
)
from omnicrm.timing.ports import (
    ActionRepository,
    DueClosingRepository,
    EnrollmentRepository,
    EntryRepository,
    FreshEntryRepository,
    OutcomeRepository,
    ProcessedEventRepository,
    TimingUnitOfWork,
)
from omnicrm.timing.records import (
    ActionStatus,
    CustomerContext,
    CustomerEvent,
    DueAction,
    Enrollment,
    EntryRecord,
    Outcome,
    OutcomeKind,
)
from omnicrm.timing.service import (
    CustomerDirectory,
    Engine,
    ReplayResult,
    StaticDirectory,
    TimingHistory,
)

__all__ = [
    "Action",
    "ActionKind",
    "ActionRepository",
    "ActionStatus",
    "Branch",
    "Campaign",
    "CapPolicy",
    "Case",
    "ChannelChoice",
    "ChannelPolicy",
    "ChannelRule",
    "Condition",
    "CustomerContext",
    "CustomerDirectory",
    "CustomerEvent",
    "DueAction",
    "DueClosingRepository",
    "Engine",
    "Enrollment",
    "EnrollmentRepository",
    "EntryRecord",
    "EntryRepository",
    "Evaluation",
    "Exit",
    "Facts",
    "FrequencyCap",
    "FreshEntryRepository",
    "GuardPolicy",
    "Journey",
    "JourneyDefinitionError",
    "Kpi",
    "KpiResult",
    "LocalWindow",
    "Outcome",
    "OutcomeKind",
    "OutcomeRepository",
    "ProcessedEventRepository",
    "Reentry",
    "ReplayResult",
    "Stage",
    "StaticDirectory",
    "Step",
    "TimingHistory",
    "TimingUnitOfWork",
    "TouchpointStats",
    "Trigger",
    "UnknownEventTypeError",
    "UnmergeConflictError",
    "Wait",
    "WaitForEvent",
    "WaitRelative",
    "WaitUntil",
    "choose_channel",
    "evaluate",
    "journey_from_dict",
    "journey_to_dict",
    "load_journeys",
    "load_journeys_json",
    "load_journeys_toml",
    "next_allowed",
    "parse_duration",
]
