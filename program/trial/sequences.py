"""Allocation sequences: simple, permuted blocks, stratified blocks, and minimisation.

Pure functions. Every sequence comes from a recorded seed, so the same seed and settings give
the same list again (for the trial master file and for audits). Seeds are combined with a
label (stratum, participant number) through ``random.Random(str)``, which hashes strings with
SHA-512 and is therefore stable across processes and Python versions.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class RandomisationError(ValueError):
    """The settings cannot produce a sequence (e.g. a block size the ratios do not divide)."""


@dataclass(frozen=True)
class Allocation:
    """One position of a pre-generated list: which arm, and in which block (None for simple)."""

    position: int
    arm: str
    block: int | None = None


def _rng(seed: int | str, label: str = "") -> random.Random:
    return random.Random(f"hearth:{seed}:{label}")


def _weights(arms: Sequence[str], ratios: Mapping[str, int] | None) -> dict[str, int]:
    if not arms:
        raise RandomisationError("at least one arm is needed")
    weights = {arm: int((ratios or {}).get(arm, 1)) for arm in arms}
    if any(w < 1 for w in weights.values()):
        raise RandomisationError("allocation ratios must be positive integers")
    return weights


def simple_sequence(
    arms: Sequence[str], n: int, seed: int | str, ratios: Mapping[str, int] | None = None
) -> list[Allocation]:
    """``n`` independent allocations, each arm drawn with probability proportional to its ratio.

    Simple randomisation can leave the arms unequal in size; that is the method's nature.
    """
    weights = _weights(arms, ratios)
    rng = _rng(seed, "simple")
    population = list(weights)
    chosen = rng.choices(population, weights=[weights[a] for a in population], k=n)
    return [Allocation(position=i + 1, arm=arm) for i, arm in enumerate(chosen)]


def block_sequence(
    arms: Sequence[str],
    n: int,
    seed: int | str,
    block_sizes: Sequence[int] = (4, 6),
    ratios: Mapping[str, int] | None = None,
    label: str = "",
) -> list[Allocation]:
    """Permuted blocks of randomly chosen sizes, covering at least ``n`` positions.

    Every block holds each arm in proportion to its ratio, so the arms are balanced at the end
    of every block; random block sizes keep the next allocation from being guessed by someone
    who knows the block size. The list is only cut at a block boundary.
    """
    weights = _weights(arms, ratios)
    unit = sum(weights.values())
    sizes = sorted(set(int(s) for s in block_sizes))
    if not sizes or any(s < unit or s % unit for s in sizes):
        raise RandomisationError(
            f"every block size must be a positive multiple of {unit} (the sum of the ratios)"
        )
    rng = _rng(seed, f"blocks:{label}")
    out: list[Allocation] = []
    block = 0
    while len(out) < n:
        block += 1
        size = rng.choice(sizes)
        content = [arm for arm in weights for _ in range(weights[arm] * size // unit)]
        rng.shuffle(content)
        start = len(out)
        out.extend([Allocation(position=start + i + 1, arm=a, block=block)
                    for i, a in enumerate(content)])
    return out


def stratum_key(factors: Sequence[str], covariates: Mapping[str, object]) -> str:
    """The stratum a person falls in, e.g. ``gender=female|site=tokyo`` ('' when unstratified).

    Raises when a stratification factor is missing: a person cannot be placed in a list blind.
    """
    parts = []
    for factor in factors:
        value = covariates.get(factor)
        if value in (None, ""):
            raise RandomisationError(f"stratification factor {factor!r} has no value")
        parts.append(f"{factor}={value}")
    return "|".join(parts)


def stratified_sequences(
    arms: Sequence[str],
    strata: Sequence[str],
    n_per_stratum: int,
    seed: int | str,
    block_sizes: Sequence[int] = (4, 6),
    ratios: Mapping[str, int] | None = None,
) -> dict[str, list[Allocation]]:
    """An independent permuted-block list for each stratum, each from the seed and its name."""
    return {
        stratum: block_sequence(arms, n_per_stratum, seed, block_sizes, ratios, label=stratum)
        for stratum in strata
    }


def minimisation_imbalance(
    arms: Sequence[str],
    allocated: Sequence[tuple[Mapping[str, object], str]],
    covariates: Mapping[str, object],
    factors: Mapping[str, float],
    ratios: Mapping[str, int] | None = None,
) -> dict[str, float]:
    """Pocock–Simon total imbalance if the new person were put in each arm.

    For each factor, count the people already allocated who share the new person's level, per
    arm (divided by the arm's ratio), add the new person to the candidate arm, and take the
    range; the total is the weighted sum of ranges over factors.
    """
    weights = _weights(arms, ratios)
    totals = {}
    for candidate in arms:
        total = 0.0
        for factor, weight in factors.items():
            level = covariates.get(factor)
            counts = {arm: 0.0 for arm in arms}
            for other, arm in allocated:
                if arm in counts and other.get(factor) == level:
                    counts[arm] += 1
            counts[candidate] += 1
            scaled = [counts[arm] / weights[arm] for arm in arms]
            total += float(weight) * (max(scaled) - min(scaled))
        totals[candidate] = total
    return totals


def minimise(
    arms: Sequence[str],
    allocated: Sequence[tuple[Mapping[str, object], str]],
    covariates: Mapping[str, object],
    factors: Mapping[str, float],
    seed: int | str,
    p_best: float = 0.8,
    ratios: Mapping[str, int] | None = None,
) -> str:
    """The arm for the next person by minimisation with a random element.

    With probability ``p_best`` the arm that minimises the imbalance is chosen (ties broken at
    random); otherwise one of the other arms. The random draw depends on the seed and on how
    many people were allocated before, so replaying the same enrolments reproduces every
    allocation.
    """
    if not 0.5 <= p_best <= 1:
        raise RandomisationError("p_best must be between 0.5 and 1")
    imbalance = minimisation_imbalance(arms, allocated, covariates, factors, ratios)
    rng = _rng(seed, f"minimisation:{len(allocated)}")
    lowest = min(imbalance.values())
    best = [arm for arm in arms if imbalance[arm] == lowest]
    others = [arm for arm in arms if arm not in best]
    if others and rng.random() >= p_best:
        return rng.choice(others)
    return rng.choice(best)
