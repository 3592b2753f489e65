"""Independent random streams, keyed by replication and by source of randomness.

One `SeedSequence(seed)` per run. Stream (replication r, source s) is the child with
spawn key (r, index of s). Keying by source name instead of by call order means two
scenarios run with the same seed draw the same visitors, matters and service times
(common random numbers), and adding a new source never disturbs the existing ones.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_SEED", "SOURCES", "streams"]

DEFAULT_SEED = 20211231

# Append only: an index, once given, keeps its meaning forever.
SOURCES = (
    "arrivals",
    "matters",
    "service",
    "patience",
    "instant",
    "backoffice",
    "returns",
    "channel",
    "consultation",
    "issuance",
    "appointments",
)


def streams(seed: int, replication: int) -> dict[str, np.random.Generator]:
    """One numpy Generator per source for this replication."""
    return {
        source: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication, i)))
        for i, source in enumerate(SOURCES)
    }
