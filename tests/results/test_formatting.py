import math

import pytest

from results.formatting import MISSING, fixed, mean_std, significant


@pytest.mark.parametrize("x, digits, text", [
    (0.12345, 3, "0.123"), (-0.0004, 3, "0.000"), (-0.0, 2, "0.00"), (-0.004, 2, "0.00"),
    (-0.0051, 2, "-0.01"), (1234.5678, 1, "1234.6"), (3, 3, "3.000"),
])
def test_fixed_never_prints_a_signed_zero(x, digits, text):
    assert fixed(x, digits) == text


@pytest.mark.parametrize("x", [None, math.nan, math.inf, -math.inf])
def test_fixed_prints_a_dash_for_what_is_not_a_number(x):
    assert fixed(x) == MISSING
    assert fixed(x, missing="n/a") == "n/a"


def test_mean_std_uses_fixed_on_both():
    assert mean_std(-0.0001, 0.0) == "0.000 ± 0.000"
    assert mean_std(0.5, 0.25, digits=2) == "0.50 ± 0.25"
    with pytest.raises(TypeError):  # a (mean, std, n) tuple must not pass n as the decimals
        mean_std(*(0.5, 0.25, 2))


def test_markdown_table_lines_and_a_row_of_the_wrong_width_is_refused():
    from results.formatting import markdown_table

    assert markdown_table(("a", "b"), [(1, "x"), ("–", fixed(-0.0001))]) == ["| a | b |", "|---|---|", "| 1 | x |", "| – | 0.000 |"]
    assert markdown_table(("a",), []) == ["| a |", "|---|"]
    with pytest.raises(ValueError, match="2 cells for 3 headers"):
        markdown_table(("a", "b", "c"), [(1, 2)])


def test_a_single_seed_claims_no_spread():
    from results.formatting import over_seeds

    assert over_seeds(0.0491, None, 1) == "0.049 (n=1)"
    assert over_seeds(0.5, 0.0, 3) == "0.500 ± 0.000"
    assert over_seeds(0.5, 0.01, 3, show_n=True) == "0.500 ± 0.010 (n=3)"


def test_significant_rounds_floats_so_last_bit_host_differences_vanish():
    # 0.20631401853123912 (AVX-512 host) and ...915 (AVX2 host): the same UDR, one value in udr.json
    a, b = significant({"udr": [0.20631401853123912]}), significant({"udr": [0.20631401853123915]})
    assert a == b == {"udr": [0.2063140185]}
    assert significant({"n": 14, "name": "x", "t": (1.0, float("nan"))})["t"][0] == 1.0
    assert significant(float("nan")) != significant(float("nan"))  # NaN stays NaN; ints and strings untouched
    assert significant({"n": 14, "name": "x"}) == {"n": 14, "name": "x"}
