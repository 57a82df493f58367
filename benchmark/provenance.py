"""What produced a run: the resolved device, its numerics settings and the host's CPU.

Every record carries :func:`provenance` (and the first training-log line repeats it), so results from
different devices, GPUs, library versions or CPU instruction sets are never pooled unseen: the
leaderboard groups by :func:`device_label`.
"""

from __future__ import annotations

import os
import platform
import re
from functools import lru_cache

import torch

ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


@lru_cache(maxsize=1)
def cpu_info() -> dict:
    """CPU model name and the ISA flags that change speed or rounding paths (AVX2 / AVX-512 / AMX)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            text = f.read()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        model = m.group(1).strip() if m else model
        m = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        flags = set(m.group(1).split()) if m else set()
    except OSError:
        pass
    return {"model": model, "isa": [f for f in ISA_FLAGS if f in flags], "cores": os.cpu_count()}


def cuda_numerics() -> dict:
    """The CUDA numerics switches as they stand in this process."""
    return {
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "deterministic_algorithms": bool(torch.are_deterministic_algorithms_enabled()),
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
    }


def provenance(device: torch.device | str, precision: str, threads: int | None = None) -> dict:
    """The record's ``provenance`` block for a run on ``device`` at ``precision``."""
    device = torch.device(device)
    out = {
        "device": str(device), "device_type": device.type, "precision": precision,
        "torch": torch.__version__, "torch_threads": threads or torch.get_num_threads(),
        "cpu": cpu_info(), "host": platform.node(),
    }
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        out.update(gpu=torch.cuda.get_device_name(index), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version(), **cuda_numerics())
    return out


def device_label(prov: dict | None) -> str:
    """A short label of what trained a run, for grouping: ``cpu``, ``cuda (NVIDIA H200, tf32)``; records
    written before provenance existed were all trained on the CPU."""
    if not prov:
        return "cpu"
    if prov.get("device_type") != "cuda":
        return "cpu"
    extra = ", tf32" if prov.get("precision") == "tf32" else ", bf16" if prov.get("precision") == "bf16" else ""
    return f"cuda ({prov.get('gpu', 'GPU')}{extra})"
