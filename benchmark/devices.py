"""Where a cell runs: its device, chosen *inside* the process that trains it, and the CUDA numerics
switches that make a GPU run mean what its record says.

Device choice (:func:`choose_device`): an explicit ``--device`` is taken as given; ``auto`` picks, among
the CUDA devices this process sees, the one of its Slurm task (``SLURM_LOCALID`` modulo the visible
count) or else the first free slot of a free-device queue shared by every process of this user on the
host (:class:`DeviceSlot`: one lock file per GPU × ``cells_per_gpu``), so a pool, Dask workers and
array tasks balance over the GPUs whatever was skipped. A cell that asked for a GPU and sees none fails
with one line instead of training on the CPU.

Numerics (:func:`configure_numerics`): on CUDA, deterministic algorithms (cuDNN deterministic, no
benchmark autotuning, ``torch.use_deterministic_algorithms`` with the cuBLAS workspace variable set
before the first cuBLAS call) and TF32 off unless the precision is ``tf32``.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path

import torch

CUBLAS_WORKSPACE = ":4096:8"
DEFAULT_CELLS_PER_GPU_GIB = 8  # one cell per this many GiB of GPU memory (estimate: context + training + batch-1024 encode ≈ 1-2 GiB), capped below
MAX_DEFAULT_CELLS_PER_GPU = 4


class GPURequiredError(RuntimeError):
    """A cell asked for a GPU but its process sees none."""


def prepare_cuda_environment() -> None:
    """Set what must precede the first cuBLAS call (idempotent; a user's own value is kept)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)


def configure_numerics(device: torch.device, precision: str) -> None:
    """Deterministic CUDA kernels and TF32 exactly when ``precision == 'tf32'``; nothing changes on the CPU."""
    if device.type != "cuda":
        return
    prepare_cuda_environment()
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True)


def visible_gpus() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def default_cells_per_gpu() -> int:
    """Cells side by side on one GPU when ``--cells-per-gpu`` is not given: one per 8 GiB of its memory,
    1-4 (an estimate until the device check measures per-process memory; see the README)."""
    if not visible_gpus():
        return 1
    gib = torch.cuda.get_device_properties(0).total_memory / 2**30
    return int(max(1, min(MAX_DEFAULT_CELLS_PER_GPU, gib // DEFAULT_CELLS_PER_GPU_GIB)))


class DeviceSlot:
    """A held slot of the free-device queue: an exclusive ``flock`` on ``<dir>/gpu<id>.<k>.lock``,
    released when the cell ends (or its process dies: the kernel drops the lock)."""

    def __init__(self, gpu_index: int, fd: int | None) -> None:
        self.gpu_index, self._fd = gpu_index, fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _slot_dir() -> Path:
    d = Path(os.environ.get("BENCHMARK_GPU_SLOTS") or Path(tempfile.gettempdir()) / f"benchmark-gpu-slots-{os.getuid()}")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _physical_ids(count: int) -> list[str]:
    """Names of the visible GPUs that are the same for every process on the host (CUDA_VISIBLE_DEVICES entries)."""
    env = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    return env[:count] if len(env) >= count else [str(i) for i in range(count)]


def acquire_slot(count: int, cells_per_gpu: int, poll_s: float = 0.5, timeout_s: float | None = None) -> DeviceSlot:
    """The first free (GPU, k) slot, GPUs filled evenly (slot k of every GPU before slot k + 1); waits for one."""
    ids, d = _physical_ids(count), _slot_dir()
    t0 = time.monotonic()
    while True:
        for k in range(max(1, cells_per_gpu)):
            for i, gid in enumerate(ids):
                fd = os.open(d / f"gpu{gid}.{k}.lock", os.O_CREAT | os.O_RDWR, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                return DeviceSlot(i, fd)
        if timeout_s is not None and time.monotonic() - t0 > timeout_s:
            raise TimeoutError(f"no free GPU slot in {timeout_s:.0f} s ({count} GPU(s) × {cells_per_gpu} cells)")
        time.sleep(poll_s)


def choose_device(requested: str, require_gpu: bool = False, cells_per_gpu: int = 1) -> tuple[torch.device, DeviceSlot | None]:
    """The device for a cell in *this* process (and the slot it holds, to release when the cell ends).

    Raises:
        GPURequiredError: a GPU was asked for (``require_gpu`` or ``--device cuda``) but none is visible.
        ValueError: an explicit device this process does not have.
    """
    from .factory import resolve_device

    count = visible_gpus()
    if requested != "auto":
        dev = resolve_device(requested)
        if require_gpu and dev.type != "cuda":
            raise GPURequiredError(f"the cell asked for a GPU but --device is {requested!r}; drop --gpus-per-task or use --device auto")
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        return dev, None
    if not count:
        if require_gpu:
            raise GPURequiredError(
                "the cell asked for a GPU but this process sees none (torch.cuda.is_available() is False, "
                f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')!r}, torch {torch.__version__}); "
                "check the job's GPU request and that torch is a CUDA build, or run with --gpus-per-task 0")
        return torch.device("cpu"), None
    local = os.environ.get("SLURM_LOCALID")
    if local is not None and local.isdigit():
        slot = DeviceSlot(int(local) % count, None)
    else:
        slot = acquire_slot(count, cells_per_gpu)
    dev = torch.device("cuda", slot.gpu_index)
    torch.cuda.set_device(dev)
    return dev, slot
