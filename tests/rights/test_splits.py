from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.rights.splits import allocate

amounts = st.integers(min_value=0, max_value=10**12)
weight_lists = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12).filter(
    lambda weights: sum(weights) > 0
)


@given(amount=amounts, weights=weight_lists)
def test_parts_add_up_exactly_and_are_never_negative(amount, weights):
    parts = allocate(amount, list(enumerate(weights)))
    assert sum(part for _, part in parts) == amount
    assert all(part >= 0 for _, part in parts)


@given(amount=amounts, weights=weight_lists)
def test_each_part_is_within_one_unit_of_its_exact_share(amount, weights):
    total = sum(weights)
    for (index, part), weight in zip(allocate(amount, list(enumerate(weights))), weights, strict=True):
        exact = Fraction(amount * weight, total)
        assert abs(part - exact) < 1, index


@given(amount=amounts, weights=weight_lists)
def test_the_same_input_always_gives_the_same_split(amount, weights):
    assert allocate(amount, list(enumerate(weights))) == allocate(amount, list(enumerate(weights)))


def test_remainder_goes_to_the_largest_fractions_then_to_the_first_given():
    assert allocate(100, [("a", 1), ("b", 1), ("c", 1)]) == [("a", 34), ("b", 33), ("c", 33)]
    assert allocate(10, [("creator", 6_000), ("cameo", 2_500), ("platform", 1_500)]) == [
        ("creator", 6),
        ("cameo", 3),
        ("platform", 1),
    ]


@pytest.mark.parametrize(("amount", "weights"), [(-1, [("a", 1)]), (5, [("a", 0)]), (5, [("a", -1), ("b", 2)])])
def test_bad_inputs_are_refused(amount, weights):
    with pytest.raises(ValueError):
        allocate(amount, weights)
