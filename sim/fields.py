"""Field types shared by the scenario models: finite numbers and whole counts.

YAML reads `true` as a boolean and `.nan` / `.inf` as floats; pydantic would take `true`
for 1 and pass NaN and infinity on to the model. A number of the scenario is neither:
`Number` is a finite int or float, `Count` a whole int (not a bool, not 2.0 nor "2").
Models also set `allow_inf_nan=False` (see FROZEN_CONFIG) for numbers inside containers.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Strict

__all__ = ["FROZEN_CONFIG", "Count", "Number"]

Number = Annotated[float, Strict()]
Count = Annotated[int, Strict()]

# every scenario model: unknown fields refused, immutable, no NaN or infinity anywhere
FROZEN_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
