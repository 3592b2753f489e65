"""Random numbers keyed by what they are for, so that comparisons stay paired under edits.

**The guarantee (common random numbers).** Every uniform the model uses is a pure
function of (seed, replication, source, key), where the key says what the draw is for:
the day and the visitor's place in that day's arrivals, the matter's *name*, the
department and occurrence of an approval step, the attempt, the queue visit. No draw
depends on its position in an array whose shape a scenario edit could change (the number
of matters, the longest route, the most matters per visitor). Hence, with the same seed:

* adding or removing a matter, a pool, an approval step or a bundle leaves every other
  visitor's arrival time, service needs, patience and back-office draws unchanged; a
  visitor's matters change only where the edited matter's key now ranks among theirs
  (about its share of visitors, plus multi-matter visitors whose draw touches it; the
  weights that keep shares exact for several matters move a little with any share, see
  sim.sampling);
* changing the matters-per-visitor distribution changes only the visitors whose count
  changes: they are drawn for their new count (unless a matter is too common for the
  visitors with most matters: then the mix of counts shapes every count's draw, see
  sim.sampling.count_targets);
* changing windows, pools, routing or staffing changes no draw at all.

How: a day's arrival times come from a numpy Generator seeded by
`SeedSequence(seed, spawn_key=(replication, source, day))` (a Poisson count, then times).
Every other draw is a counter-based uniform: the SplitMix64 finaliser (Steele, Lea &
Flood 2014) chained over the key's parts, each part an integer or a name hashed with
BLAKE2b. It is vectorised over numpy arrays of keys and has a scalar twin for draws made
one at a time inside the model; both give the same bits (tested), so a draw does not
depend on whether it was made up front or on demand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache

import numpy as np

__all__ = ["DEFAULT_SEED", "Key", "Streams", "name_key"]

DEFAULT_SEED = 20211231

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_U52 = 2.0**-52  # a uniform is (k + 0.5) / 2^52, k < 2^52: inside (0, 1), never 1.0

Key = int | str


@lru_cache(maxsize=65536)
def name_key(name: str) -> int:
    """A stable 64-bit integer for a name (a source, a matter, a department)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


def _as_int(part: Key) -> int:
    return name_key(part) if isinstance(part, str) else int(part) & _MASK


def _mix(x: int) -> int:
    """SplitMix64's finaliser on a Python int (the scalar twin of _mix_array)."""
    x = ((x ^ (x >> 30)) * _M1) & _MASK
    x = ((x ^ (x >> 27)) * _M2) & _MASK
    return x ^ (x >> 31)


def _mix_array(x: np.ndarray) -> np.ndarray:
    x = (x ^ (x >> np.uint64(30))) * np.uint64(_M1)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(_M2)
    return x ^ (x >> np.uint64(31))


def _step(h: int, part: int) -> int:
    return _mix((h + _mix((part + _GOLDEN) & _MASK)) & _MASK)


class Streams:
    """The random numbers of one replication of one seed."""

    def __init__(self, seed: int, replication: int):
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be >= 0")
        self.seed, self.replication = seed, replication
        self._base = _step(_step(0x68616C6C73696D, seed), replication)  # "hallsim"

    def generator(self, source: str, *keys: int) -> np.random.Generator:
        """A numpy Generator of its own for (source, *keys), e.g. one day's arrivals."""
        spawn_key = (self.replication, name_key(source), *(int(k) for k in keys))
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=spawn_key))

    def uniform(self, source: str, *keys: Key | np.ndarray) -> np.ndarray:
        """Uniforms in (0, 1), one per element of the broadcast keys.

        Parts may be ints, names or integer arrays (broadcast together)."""
        h = self._base
        h = _step(h, name_key(source))
        scalars: list[int] = []
        arrays: list[np.ndarray] = []
        for part in keys:
            if isinstance(part, np.ndarray):
                arrays.append(part)
            elif arrays:
                arrays.append(np.asarray(_as_int(part), dtype=np.uint64))
            else:
                scalars.append(_as_int(part))
        for part in scalars:  # the scalar prefix is hashed once
            h = _step(h, part)
        out = np.full(np.broadcast_shapes(*(a.shape for a in arrays)), h, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for part in arrays:
                p = _mix_array(part.astype(np.uint64) + np.uint64(_GOLDEN))
                out = _mix_array(out + p)
        return ((out >> np.uint64(12)).astype(np.float64) + 0.5) * _U52

    def uniform1(self, source: str, *keys: Key) -> float:
        """The same uniform as `uniform` for scalar keys, without numpy (fast in the model)."""
        return self.drawer(source)(*keys)

    def drawer(self, source: str, *prefix: Key) -> Callable[..., float]:
        """uniform1 with a fixed prefix, hashed once: drawer(*rest) == uniform1(source,
        *prefix, *rest)."""
        h = _step(self._base, name_key(source))
        for part in prefix:
            h = _step(h, _as_int(part))

        def draw(*rest: Key) -> float:
            x = h
            for part in rest:
                x = _step(x, _as_int(part))
            return ((x >> 12) + 0.5) * _U52

        return draw
