"""Search spaces for hyperparameter tuning, as written in OPTIONS (HPARAM_RANGE, HPARAM_CANDIDATES)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HParamRange:
    """``HPARAM_RANGE(low, high)`` in OPTIONS: a search space for hyperparameter tuning."""

    low: float
    high: float


@dataclass(frozen=True)
class HParamCandidates:
    """``HPARAM_CANDIDATES([...])`` in OPTIONS: the values tuning may choose from."""

    values: tuple[Any, ...]


Space = HParamRange | HParamCandidates
