"""IRS, MCC and InfoMEC beyond the property table: constant codes, the authors' formulas on a hand
case, the in-sample InfoE variant, seeded repeatability, one-line errors."""

import numpy as np
import pytest

from metrics.infomec import _normalised_concentration, active_latents, compute_infomec
from metrics.irs import compute_irs
from metrics.mcc import compute_mcc, matched_mean

SIZES = (3, 4, 5, 6)


@pytest.fixture
def data():
    g = np.random.default_rng(0)
    f = np.stack([g.integers(0, s, 3000) for s in SIZES], 1)
    return f / (np.asarray(SIZES) - 1) + g.normal(0, 0.02, f.shape), f


def test_constant_codes_score_zero(data):
    _, f = data
    z = np.zeros((len(f), 6))
    assert compute_irs(z, f) == {"IRS": 0.0, "num_active_dims": 0.0, "num_active_latents": 0}
    assert compute_mcc(z, f, z, f)["mcc"] == 0.0
    assert compute_infomec(z, f, z, f) == {"infom": 0.0, "infoe": 0.0, "infoc": 0.0, "active_latents": 0}


def test_infomec_hand_case():
    # K = 2 factors, L = 3 latents; the authors' normalisations written out
    nmi = np.array([[0.8, 0.2, 0.0], [0.0, 0.1, 0.3]])
    infom = (np.mean([0.8 / 0.8, 0.2 / 0.3, 0.3 / 0.3]) - 1 / 2) / (1 - 1 / 2)
    infoc = (np.mean([0.8 / 1.0, 0.3 / 0.4]) - 1 / 3) / (1 - 1 / 3)
    assert _normalised_concentration(nmi.T, 2) == pytest.approx(infom)
    assert _normalised_concentration(nmi, 3) == pytest.approx(infoc)
    z = np.column_stack([np.linspace(0, 1, 100), np.linspace(0, 0.04, 100), np.linspace(0, 0.06, 100)])
    assert active_latents(z).tolist() == [True, False, True]  # range > max range / 20


def test_infomec_is_seeded_and_has_the_in_sample_variant(data):
    z, f = data
    a = compute_infomec(z[:2000], f[:2000], z[2000:], f[2000:], seed=3)
    assert a == compute_infomec(z[:2000], f[:2000], z[2000:], f[2000:], seed=3)
    assert a["infom"] > 0.95 and a["infoc"] > 0.95 and a["infoe"] > 0.95
    ins = compute_infomec(z[:2000], f[:2000], in_sample=True)
    assert ins["infom"] == a["infom"] and ins["infoe"] >= a["infoe"] - 1e-3


def test_mcc_matches_rectangular_and_is_permutation_invariant(data):
    z, f = data
    wide = np.column_stack([z, np.random.default_rng(1).normal(size=(len(z), 3))])
    perm = wide[:, np.random.default_rng(2).permutation(wide.shape[1])]
    a, b = compute_mcc(wide, f, wide, f), compute_mcc(perm, f, perm, f)
    assert a == pytest.approx(b) and a["mcc"] > 0.99
    assert matched_mean(np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.7]])) == pytest.approx((0.9 + 0.7) / 2)  # more factors than latents


@pytest.mark.parametrize("fn", [lambda z, f: compute_irs(z, f), lambda z, f: compute_mcc(z, f, z, f), lambda z, f: compute_infomec(z, f)])
def test_bad_codes_are_one_line_errors(fn, data):
    z, f = data
    bad = z.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError) as exc:
        fn(bad, f)
    assert "\n" not in str(exc.value)
    with pytest.raises(ValueError):
        fn(z[:1], f[:1])
