"""Allocation sequences: reproducible from the seed, balanced where the method promises it."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from program.trial.sequences import (
    RandomisationError,
    block_sequence,
    minimisation_imbalance,
    minimise,
    simple_sequence,
    stratified_sequences,
    stratum_key,
)

ARMS = ("CFT", "UC")


def test_a_seeded_simple_sequence_reproduces_and_another_seed_differs():
    first = simple_sequence(ARMS, 40, seed=20260401)
    assert first == simple_sequence(ARMS, 40, seed=20260401)
    assert [a.arm for a in first] != [a.arm for a in simple_sequence(ARMS, 40, seed=20260402)]
    assert [a.position for a in first] == list(range(1, 41))


def test_simple_sequence_follows_the_allocation_ratio_roughly():
    counts = Counter(a.arm for a in simple_sequence(ARMS, 3000, seed=1, ratios={"CFT": 2}))
    assert 1850 < counts["CFT"] < 2150
    assert counts["CFT"] + counts["UC"] == 3000


@given(seed=st.integers(0, 10**9), n=st.integers(1, 80),
       sizes=st.sets(st.sampled_from([2, 4, 6, 8]), min_size=1))
@settings(max_examples=60, deadline=None)
def test_every_permuted_block_is_balanced(seed, n, sizes):
    sequence = block_sequence(ARMS, n, seed, block_sizes=sorted(sizes))
    assert len(sequence) >= n
    assert [a.position for a in sequence] == list(range(1, len(sequence) + 1))
    blocks: dict[int, list[str]] = {}
    for allocation in sequence:
        blocks.setdefault(allocation.block, []).append(allocation.arm)
    for arms in blocks.values():
        assert len(arms) in sizes
        assert arms.count("CFT") == arms.count("UC")


def test_block_sizes_vary_and_the_sequence_reproduces():
    sequence = block_sequence(ARMS, 200, seed=7, block_sizes=(4, 6))
    sizes = Counter(Counter(a.block for a in sequence).values())
    assert set(sizes) == {4, 6}
    assert sequence == block_sequence(ARMS, 200, seed=7, block_sizes=(4, 6))


def test_unequal_ratio_blocks_keep_the_ratio_in_every_block():
    sequence = block_sequence(ARMS, 30, seed=3, block_sizes=(3, 6), ratios={"CFT": 2})
    for block in {a.block for a in sequence}:
        arms = [a.arm for a in sequence if a.block == block]
        assert arms.count("CFT") == 2 * arms.count("UC")


def test_a_block_size_the_ratios_do_not_divide_is_refused():
    with pytest.raises(RandomisationError, match="multiple of 2"):
        block_sequence(ARMS, 10, seed=1, block_sizes=(3,))


def test_strata_get_independent_lists_from_one_seed():
    lists = stratified_sequences(ARMS, ["gender=female", "gender=male"], 12, seed=99)
    again = stratified_sequences(ARMS, ["gender=female", "gender=male"], 12, seed=99)
    assert lists == again
    assert [a.arm for a in lists["gender=female"]] != [a.arm for a in lists["gender=male"]]


def test_stratum_key_names_factors_and_refuses_a_missing_one():
    assert stratum_key(["gender", "site"], {"site": "tokyo", "gender": "female"}) == (
        "gender=female|site=tokyo")
    assert stratum_key([], {}) == ""
    with pytest.raises(RandomisationError, match="site"):
        stratum_key(["site"], {"gender": "female"})


def test_minimisation_imbalance_counts_people_sharing_the_new_persons_levels():
    allocated = [({"gender": "female"}, "CFT"), ({"gender": "female"}, "CFT"),
                 ({"gender": "male"}, "UC")]
    imbalance = minimisation_imbalance(ARMS, allocated, {"gender": "female"}, {"gender": 1.0})
    assert imbalance == {"CFT": 3.0, "UC": 1.0}


def test_minimisation_with_certainty_balances_every_factor():
    allocated: list = []
    people = [{"gender": g, "severity": s} for g in ("f", "m") for s in ("mod", "sev")] * 10
    for i, person in enumerate(people):
        arm = minimise(ARMS, allocated, person, {"gender": 1, "severity": 1}, seed=i, p_best=1.0)
        allocated.append((person, arm))
    for factor in ("gender", "severity"):
        for level in {p[factor] for p in people}:
            arms = Counter(arm for p, arm in allocated if p[factor] == level)
            assert abs(arms["CFT"] - arms["UC"]) <= 1


def test_minimisation_replays_identically_from_the_seed_and_sometimes_departs_from_best():
    def run(seed):
        allocated: list = []
        for i in range(60):
            person = {"gender": "f" if i % 3 else "m"}
            allocated.append((person, minimise(ARMS, allocated, person, {"gender": 1}, seed,
                                               p_best=0.7)))
        return [arm for _, arm in allocated]

    assert run(5) == run(5)
    departures = 0
    allocated: list = []
    for _ in range(200):
        person = {"gender": "f"}
        imbalance = minimisation_imbalance(ARMS, allocated, person, {"gender": 1})
        arm = minimise(ARMS, allocated, person, {"gender": 1}, seed=11, p_best=0.7)
        if imbalance[arm] > min(imbalance.values()):
            departures += 1
        allocated.append((person, arm))
    assert 0 < departures < 200 * 0.5
