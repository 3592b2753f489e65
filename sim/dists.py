"""Distribution specs for durations, sampled by inversion.

Every distribution maps uniforms in (0, 1) to values through its quantile function.
Sampling by inversion is what makes common random numbers work across scenarios: the
same uniform gives the same quantile, so a reform that changes a service-time mean
moves every visitor's service time in the same direction instead of reshuffling them.
Specs are friendly to planners: gamma and lognormal are given by mean and cv.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import special

__all__ = [
    "Distribution",
    "Empirical",
    "Exponential",
    "Fixed",
    "Gamma",
    "LogNormal",
    "Triangular",
    "Uniform",
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def quantile(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def mean(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        return self.quantile(rng.random(size))


class Fixed(_Spec):
    """Always the same value."""

    dist: Literal["fixed"]
    value: float = Field(ge=0)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), self.value, dtype=float)

    @property
    def mean(self) -> float:
        return self.value


class Exponential(_Spec):
    """Memoryless; the M in M/M/c."""

    dist: Literal["exponential"]
    mean_value: float = Field(gt=0, alias="mean")

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return -self.mean_value * np.log1p(-np.asarray(u))

    @property
    def mean(self) -> float:
        return self.mean_value


class Gamma(_Spec):
    """Gamma by mean and coefficient of variation (shape = 1/cv²)."""

    dist: Literal["gamma"]
    mean_value: float = Field(gt=0, alias="mean")
    cv: float = Field(gt=0)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return special.gammaincinv(shape, np.asarray(u)) * (self.mean_value / shape)

    @property
    def mean(self) -> float:
        return self.mean_value


class LogNormal(_Spec):
    """Lognormal by mean and coefficient of variation: service times with a long right tail."""

    dist: Literal["lognormal"]
    mean_value: float = Field(gt=0, alias="mean")
    cv: float = Field(gt=0)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        sigma = math.sqrt(math.log1p(self.cv**2))
        mu = math.log(self.mean_value) - sigma**2 / 2
        return np.exp(mu + sigma * special.ndtri(np.asarray(u)))

    @property
    def mean(self) -> float:
        return self.mean_value


class Triangular(_Spec):
    """Min / most likely / max: what a supervisor can tell you without data."""

    dist: Literal["triangular"]
    min: float = Field(ge=0)
    mode: float = Field(ge=0)
    max: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.min <= self.mode <= self.max) or self.min == self.max:
            raise ValueError("triangular needs min <= mode <= max and min < max")
        return self

    def quantile(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u)
        a, c, b = self.min, self.mode, self.max
        cut = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1 - u) * (b - a) * (b - c))
        return np.where(u < cut, left, right)

    @property
    def mean(self) -> float:
        return (self.min + self.mode + self.max) / 3


class Uniform(_Spec):
    """Equally likely anywhere between min and max."""

    dist: Literal["uniform"]
    min: float = Field(ge=0)
    max: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.min >= self.max:
            raise ValueError("uniform needs min < max")
        return self

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return self.min + np.asarray(u) * (self.max - self.min)

    @property
    def mean(self) -> float:
        return (self.min + self.max) / 2


class Empirical(_Spec):
    """Resample observed values (e.g. service times read off a ticket log)."""

    dist: Literal["empirical"]
    values: tuple[float, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _non_negative(self) -> Empirical:
        if min(self.values) < 0:
            raise ValueError("empirical values must be >= 0")
        return self

    def quantile(self, u: np.ndarray) -> np.ndarray:
        ordered = np.sort(np.asarray(self.values, dtype=float))
        idx = np.minimum((np.asarray(u) * len(ordered)).astype(np.int64), len(ordered) - 1)
        return ordered[idx]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))


Distribution = Annotated[
    Fixed | Exponential | Gamma | LogNormal | Triangular | Uniform | Empirical,
    Field(discriminator="dist"),
]
