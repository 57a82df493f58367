"""Exported encoders whose batch size was fixed at export: run them in chunks of exactly that size."""

from __future__ import annotations

import torch


def static_batch(program) -> int | None:
    """The batch size a ``torch.export`` program was exported with when it is fixed (None when dynamic)."""
    names = set(program.graph_signature.user_inputs)
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in names:
            val = node.meta.get("val")
            size = getattr(val, "shape", (None,))[0] if getattr(val, "ndim", 0) else None
            return size if isinstance(size, int) else None
    return None


class FixedBatch:
    """An exported encoder whose batch size is fixed at ``batch``: images go through in chunks of exactly
    that size, the last one padded by repeating its final image and the padding's codes dropped. Each
    image's codes are its own (an encoder in eval mode treats images independently), equal to a dynamic
    export's up to the batch rounding every batch size brings."""

    def __init__(self, module, batch: int) -> None:
        self.module, self.batch = module, batch

    def __getattr__(self, name):
        return getattr(self.module, name)

    def __call__(self, x: torch.Tensor):
        outs, n = [], len(x)
        for i in range(0, n, self.batch):
            chunk = x[i:i + self.batch]  # (≤ batch, C, H, W)
            if len(chunk) < self.batch:
                chunk = torch.cat([chunk, chunk[-1:].expand(self.batch - len(chunk), *chunk.shape[1:])])
            outs.append(self.module(chunk))
        keep = lambda parts: torch.cat(parts)[:n]  # noqa: E731
        if isinstance(outs[0], (tuple, list)):
            return tuple(keep([o[j] for o in outs]) for j in range(len(outs[0])))
        return keep(outs)
