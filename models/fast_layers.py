"""The same layers as ``nn.Conv2d`` / ``nn.ConvTranspose2d``, computed faster where the channel count
is 1–3 (the first encoder layer and the last decoder layer of the conv nets).

A convolution with one input channel, or a transposed convolution with one output channel, is a
matrix product with a tiny dimension, which CPU convolution kernels run at a fraction of their usual
rate (≈ 6 GFLOP/s against ≈ 40 for the other layers of the dlib net). Written as one large matrix
product plus cheap data movement they run at the matrix product's rate:

- :class:`UnfoldConv2d` — im2col (``F.unfold``) then (B·H'·W', C·k²) @ (C·k², C_out); the input image
  needs no gradient, so the unfold's backward (col2im) never runs;
- :class:`PhaseConvTranspose2d` — for k = 4, s = 2, p = 1: one product (B·H·W, C_in) @ (C_in, C_out·16)
  gives every kernel tap's contribution; each of the four output phases (even/odd row × column) is the
  sum of four shifted tap planes, then the phases are interleaved.

Parameters, their names, shapes and initialisation are the parent classes' (``state_dict`` keys are
unchanged; checkpoints load either way); outputs equal the parents' to float rounding
(tests/models/test_fast_layers.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class UnfoldConv2d(nn.Conv2d):
    """``nn.Conv2d`` (groups = 1, dilation = 1, zero padding) as unfold + matrix product."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        kh, kw = self.kernel_size
        (sh, sw), (ph, pw) = self.stride, self.padding
        ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        cols = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # (B, C·kh·kw, L)
        out = cols.transpose(1, 2) @ self.weight.reshape(self.out_channels, -1).t()  # (B, L, C_out)
        if self.bias is not None:
            out = out + self.bias
        # (B, H', W', C_out) viewed as NCHW: channels_last memory, no copy
        return out.reshape(b, ho, wo, self.out_channels).permute(0, 3, 1, 2)


# Output phase p (0: even rows, 1: odd rows) of a k=4, s=2, p=1 transposed convolution takes input
# row a + offset (in the input padded by one) through kernel row ky, for these (offset, ky) pairs.
_PHASE_TAPS = (((1, 1), (0, 3)), ((1, 2), (2, 0)))


class PhaseConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d(C_in, C_out, 4, 2, 1)`` as one matrix product and four phase sums."""

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if self.kernel_size != (4, 4) or self.stride != (2, 2) or self.padding != (1, 1) or output_size is not None:
            return super().forward(x, output_size)
        b, c_in, h, w = x.shape
        c_out = self.out_channels
        taps = x.permute(0, 2, 3, 1).reshape(-1, c_in) @ self.weight.reshape(c_in, c_out * 16)  # (B·H·W, C_out·16)
        taps = taps.reshape(b, h, w, c_out, 4, 4)
        taps = F.pad(taps, (0, 0, 0, 0, 0, 0, 1, 1, 1, 1))  # (B, H+2, W+2, C_out, 4, 4): zero rows/cols around
        phases = []
        for rows in _PHASE_TAPS:
            row = []
            for cols in _PHASE_TAPS:
                acc = None
                for oy, ky in rows:
                    for ox, kx in cols:
                        term = taps[:, oy:oy + h, ox:ox + w, :, ky, kx]  # (B, H, W, C_out)
                        acc = term if acc is None else acc + term
                row.append(acc)
            phases.append(torch.stack(row, -1))  # (B, H, W, C_out, 2): column phases
        out = torch.stack(phases, -2)  # (B, H, W, C_out, 2 rows, 2 cols)
        out = out.permute(0, 3, 1, 4, 2, 5).reshape(b, c_out, 2 * h, 2 * w)  # interleave the phases
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)
