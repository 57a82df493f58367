"""Rendering throughput (images/s, median of rounds) in batches of 1,024 on the available cores.

Targets (issue 2): dSprites ≥ 50,000 images/s, 3D Shapes ≥ 5,000 images/s on 2 cores. The one-time
sprite/geometry cache build is timed separately. Run: ``tox -e bench -- bench/test_render.py -s``.
"""

import time

import numpy as np
import pytest

from bench.conftest import report
from datasets import get_dataset

BATCH = 1024


@pytest.mark.parametrize("name", ["dsprites", "noisy_dsprites", "color_dsprites", "shapes3d", "tiny"])
def test_render_throughput(benchmark, name):
    ds = get_dataset(name)
    t0 = time.perf_counter()
    ds.observations(ds.sample_factors(1, np.random.default_rng(0)), np.random.default_rng(0))  # build caches
    benchmark.extra_info["cache_build_s"] = round(time.perf_counter() - t0, 3)
    rng = np.random.default_rng(0)
    batches = [ds.sample_factors(BATCH, rng) for _ in range(8)]
    it = iter(range(10**9))
    benchmark.pedantic(lambda: ds.observations(batches[next(it) % 8], rng), rounds=30, warmup_rounds=3)
    report(benchmark, BATCH)
