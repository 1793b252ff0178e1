"""Customer merging: one person across store, EC, app and call centre, Japanese-aware.

Batch: :func:`resolve` turns records into a :class:`Resolution` (clusters, golden
records, explanations). Online: :class:`IdentityService` places one record at sign-up,
login or POS time using the stored match-key index, merges, unmerges and erases.
"""

from omnicrm.identity._households import HouseholdEstimate, estimate_households
from omnicrm.identity.batch import RejectedRow, Resolution, resolve
from omnicrm.identity.blocking import blocking_keys
from omnicrm.identity.compare import COMPARATORS
from omnicrm.identity.config import (
    DEFAULT_WEIGHTS,
    AttributeComparator,
    MatchConfig,
    weight_from_probabilities,
)
from omnicrm.identity.errors import ErasedRecordError
from omnicrm.identity.estimate import estimate_weights
from omnicrm.identity.events import CustomerErased, CustomersMerged, CustomersUnmerged
from omnicrm.identity.explain import Decision, Explanation, FieldComparison
from omnicrm.identity.golden import FieldValue, GoldenRecord, Survivorship, build_golden
from omnicrm.identity.linkage import link
from omnicrm.identity.model import (
    AuditEntry,
    IdentityProfile,
    PairDecision,
    StoredRecord,
    Verdict,
)
from omnicrm.identity.normalize import (
    Address,
    normalize_address,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    parse_date,
)
from omnicrm.identity.outcomes import CommandOutcome, Placement
from omnicrm.identity.prepared import PreparedRecord, normalize_gender, prepare
from omnicrm.identity.readings import Readings, learn_readings
from omnicrm.identity.records import CustomerRecord, SourceRef
from omnicrm.identity.scoring import cannot_link, decide, deterministic_rule, score_fields
from omnicrm.identity.service import IdentityService, Resolver

__all__ = [
    "COMPARATORS",
    "DEFAULT_WEIGHTS",
    "Address",
    "AttributeComparator",
    "AuditEntry",
    "CommandOutcome",
    "CustomerErased",
    "CustomerRecord",
    "CustomersMerged",
    "CustomersUnmerged",
    "Decision",
    "ErasedRecordError",
    "Explanation",
    "FieldComparison",
    "FieldValue",
    "GoldenRecord",
    "HouseholdEstimate",
    "IdentityProfile",
    "IdentityService",
    "MatchConfig",
    "PairDecision",
    "Placement",
    "PreparedRecord",
    "Readings",
    "RejectedRow",
    "Resolution",
    "Resolver",
    "SourceRef",
    "StoredRecord",
    "Survivorship",
    "Verdict",
    "blocking_keys",
    "build_golden",
    "cannot_link",
    "decide",
    "deterministic_rule",
    "estimate_households",
    "estimate_weights",
    "learn_readings",
    "link",
    "normalize_address",
    "normalize_email",
    "normalize_gender",
    "normalize_kana",
    "normalize_name",
    "normalize_phone",
    "normalize_postal_code",
    "parse_date",
    "prepare",
    "resolve",
    "score_fields",
    "weight_from_probabilities",
]
