"""The shared probe set: fixed per dataset, the committed studies' probe codes were encoded on it, and a
dataset smaller than the set is probed once per point."""

from pathlib import Path

import numpy as np

from benchmark.probe import PROBE_POINTS, probe_factors
from core.layout import PROBE_CODES
from datasets import get_dataset

STORE = Path(__file__).resolve().parents[2] / "results" / "store"


def test_dsprites_probe_set_is_the_one_the_published_runs_were_encoded_on():
    dsprites = get_dataset("dsprites")
    factors = probe_factors(dsprites)
    assert factors.shape == (PROBE_POINTS, dsprites.num_factors)
    committed = sorted(STORE.glob(f"cpu2/*/{PROBE_CODES}"))
    assert committed, "no committed cpu2 probe codes to compare with"
    with np.load(committed[0]) as f:
        np.testing.assert_array_equal(f["factors"], factors)


def test_a_dataset_smaller_than_the_probe_set_is_probed_once_per_point():
    tiny = get_dataset("tiny")
    factors = probe_factors(tiny)
    assert len(tiny) < PROBE_POINTS and factors.shape == (len(tiny), tiny.num_factors)
    np.testing.assert_array_equal(tiny.factors_to_index(factors), np.arange(len(tiny)))
