"""Optional: estimate the level weights from unlabelled records (Fellegi–Sunter EM).

The defaults need no training. A host with plenty of its own records can fit ``m`` and
``u`` per comparison level by expectation–maximisation over the blocked candidate pairs
(conditional independence between fields assumed, as in Fellegi–Sunter; ``u`` is
counted on pairs spread across the data, ``m`` and the match share fitted by EM on the
blocked pairs), and use the
result as ``MatchConfig(weights=...)``. Review the fitted weights before trusting them:
EM finds *a* two-class split, which on odd data may not be "same person".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from omnicrm.identity._em import fit_weights
from omnicrm.identity.batch import prepare_all
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.records import CustomerRecord

__all__ = ["estimate_weights"]


def estimate_weights(
    records: Iterable[CustomerRecord | Mapping[str, object]],
    config: MatchConfig | None = None,
    *,
    iterations: int = 30,
    max_pairs: int = 200_000,
) -> MatchConfig:
    """Return ``config`` with weights fitted by EM on ``records``' candidate pairs.

    Starts from the configured weights (as match probabilities) and keeps the
    thresholds; ``missing`` stays at weight 0. Raises ``ConfigurationError`` when the
    records give fewer than 10 candidate pairs.
    """
    config = config or MatchConfig()
    prepared, _ = prepare_all(records, config)
    return fit_weights(prepared, config, iterations=iterations, max_pairs=max_pairs)
