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
from pydantic import BaseModel, Field, model_validator
from scipy import special

from sim.fields import FROZEN_CONFIG, Number

# A coefficient of variation above this is a typo, and beyond it the quantiles of a
# lognormal overflow (cv 1e6 gives service times of 1e12 minutes).
MAX_CV = 20.0

__all__ = [
    "MAX_CV",
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
    model_config = FROZEN_CONFIG

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
    value: Number = Field(ge=0)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), self.value, dtype=float)

    @property
    def mean(self) -> float:
        return self.value


class Exponential(_Spec):
    """Memoryless; the M in M/M/c."""

    dist: Literal["exponential"]
    mean_value: Number = Field(gt=0, alias="mean")

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return -self.mean_value * np.log1p(-np.asarray(u))

    @property
    def mean(self) -> float:
        return self.mean_value


class Gamma(_Spec):
    """Gamma by mean and coefficient of variation (shape = 1/cv²)."""

    dist: Literal["gamma"]
    mean_value: Number = Field(gt=0, alias="mean")
    cv: Number = Field(gt=0, le=MAX_CV)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return special.gammaincinv(shape, np.asarray(u)) * (self.mean_value / shape)

    @property
    def mean(self) -> float:
        return self.mean_value


class LogNormal(_Spec):
    """Lognormal by mean and coefficient of variation: service times with a long right tail."""

    dist: Literal["lognormal"]
    mean_value: Number = Field(gt=0, alias="mean")
    cv: Number = Field(gt=0, le=MAX_CV)

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
    min: Number = Field(ge=0)
    mode: Number = Field(ge=0)
    max: Number = Field(ge=0)

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
    min: Number = Field(ge=0)
    max: Number = Field(ge=0)

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
    values: tuple[Number, ...] = Field(min_length=1, max_length=1_000_000)

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
