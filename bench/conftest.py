import os

import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def report(benchmark, items: int, unit: str = "images/s") -> float:
    """Attach a throughput to the benchmark record and print it."""
    rate = items / benchmark.stats.stats.median
    benchmark.extra_info[unit] = round(rate, 1)
    print(f"\n{benchmark.name}: {rate:,.0f} {unit}")
    return rate
