"""The fast path of :class:`kanmix.kan.KANLinear`: the same function as its ``plain_forward``.

Stacking ``[silu(x), B_0(x) ... B_{G+k-1}(x)]`` per input gives a feature matrix of shape
``(rows, (G + k + 1) * in)``, and the layer is a single GEMM of it against the combined weight
``cat(base_weight, spline_weight * spline_scaler)``. A custom autograd function saves ``x`` and
the combined weight; forward and backward walk the rows in cache-sized blocks, building each
block's features with one fused kernel (``torch.compile``; eager if compiling is unavailable or
``KANMIX_COMPILE=0``) right before the GEMMs that read them. The cost is then the three GEMMs of
a dense layer on those features plus a little elementwise work, and activation memory is the
input (and the weight's copy) alone.

Under autocast the bases are computed in float32 (polynomials of x lose digits in bf16) and the
fused kernel writes the features in the autocast dtype; the combined weight is built in the
parameters' precision and cast once per forward, and backward reuses that copy. The GEMMs then
run on bf16 operands with float32 accumulation inside each GEMM; the weight gradient is
computed by blocks of inputs, so that each of its elements is one GEMM's sum (see
``_weight_grad_by_inputs``).
"""

from __future__ import annotations

import os
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor

from kanmix._torch_compat import mark_dynamic, recompile_limit
from kanmix.bspline import Grid


# --------------------------------------------------------------------------------------
# Features [silu(x), B_0(x), ..., B_{G+k-1}(x)], laid out (rows, G + k + 1, in)
# --------------------------------------------------------------------------------------
# The GEMM does not care in which order the reduction axis is laid out, and with the feature
# axis before the input axis the kernels vectorise along `in` (see kanmix.kan's basis layout).


def _features_eager(x: Tensor, grid: Grid, dtype: torch.dtype) -> Tensor:
    """``x (rows, in)`` -> features ``(rows, (G + k + 1) * in)`` in ``dtype``."""
    # Cast before concatenating: compiled, each part is then written in `dtype` as it is computed
    # (a cast after the concatenation writes a float32 copy first and converts it in another pass).
    return torch.cat([F.silu(x).unsqueeze(1).to(dtype), grid.bases(x).to(dtype)], dim=1).flatten(1)


def _grad_input_eager(x: Tensor, grad_feats: Tensor, grid: Grid) -> Tensor:
    """``x (rows, in)``, ``grad_feats (rows, G + k + 1, in)`` -> ``(rows, in)``: sum of grad * d feature / dx."""
    _, dbases = grid.bases(x, derivative=True)
    sig = torch.sigmoid(x)
    dsilu = sig * (1 + x * (1 - sig))
    grad_feats = grad_feats.to(x.dtype)
    return grad_feats[:, 0] * dsilu + (grad_feats[:, 1:] * dbases).sum(1)


class _Fused:
    """A pointwise kernel that `torch.compile` fuses into one pass, or eager when compiling fails.

    Eager PyTorch runs the dozen elementwise steps above as a dozen passes over a tensor as large
    as the feature matrix, which costs more than the GEMM on narrow layers; fused, building the
    features costs about one write of them. The row count of the tensor arguments is compiled as
    a symbol (the kernels vectorise along ``in``, so this costs nothing), which lets the blocks
    have any length without a recompile. ``KANMIX_COMPILE=0`` forces eager.
    """

    #: One kernel per (layer width, dtype, grid kind): a model with many distinct layer widths
    #: needs more than dynamo's default of 8 before it would fall back to eager. Raised only
    #: around these calls, so other compiled code keeps the user's setting.
    RECOMPILE_LIMIT = 64

    def __init__(self, fn, row_args: tuple[int, ...]):
        self.eager, self.row_args = fn, row_args
        self.compiled = None if os.environ.get("KANMIX_COMPILE", "1") == "0" else torch.compile(fn)

    def __call__(self, *args):
        if self.compiled is not None and not torch.compiler.is_compiling():
            for i in self.row_args:
                mark_dynamic(args[i], 0)
            with recompile_limit(self.RECOMPILE_LIMIT):
                try:
                    return self.compiled(*args)
                except Exception as err:  # noqa: BLE001 - any compiler failure: fall back, loudly, once
                    out = self.eager(*args)  # a genuine error in the inputs re-raises here
                    warnings.warn(f"kanmix.kan_fast: torch.compile failed ({type(err).__name__}: {err}); using eager "
                                  "kernels", RuntimeWarning, stacklevel=3)
                    self.compiled = None
                    return out
        return self.eager(*args)


_features = _Fused(_features_eager, row_args=(0,))
_grad_input = _Fused(_grad_input_eager, row_args=(0, 1))


def compiled() -> bool:
    """Whether this process runs the fused kernels compiled (decided at import by ``KANMIX_COMPILE``):
    compiled and eager kernels agree only to rounding, so a record's provenance says which ran."""
    return _features.compiled is not None


# --------------------------------------------------------------------------------------
# The layer as GEMMs on row blocks of features
# --------------------------------------------------------------------------------------


def combined_weight(base_weight: Tensor, spline_weight: Tensor, spline_scaler: Tensor) -> Tensor:
    """``(out, in)``, ``(out, in, G+k)``, ``(out, in)`` -> ``(out, (G + k + 1) * in)``, the feature layout."""
    spline = (spline_weight * spline_scaler.unsqueeze(-1)).transpose(1, 2)
    return torch.cat([base_weight.unsqueeze(1), spline], dim=1).flatten(1)


def _blocks(rows: int, width: int, device: torch.device, dtype: torch.dtype) -> list[tuple[int, int]]:
    """Row ranges ``[(lo, hi), ...]`` splitting ``rows`` rows of ``width`` features into near-equal blocks.

    On CPU a block of ``_CACHE_BYTES`` stays in cache between the basis kernel that writes it
    and the GEMM that reads it, where a whole ``(rows, width)`` matrix would go through main
    memory (and page faults) several times. Blocks shorter than ``_MIN_ROWS`` would make the
    float32 weight-gradient accumulation dominate, so wide layers fall back to few large blocks.
    The sizes were chosen by timing the benchmark's three shapes (``python -m kanmix.bench
    kan``): smaller blocks, or one whole-matrix block, were slower on some of them. Budgets are
    in bytes, so bf16 blocks hold twice the rows.
    """
    return _sized_blocks(rows, width * dtype.itemsize, device, _MIN_ROWS)


def _input_blocks(rows: int, n_in: int, n_feat: int, device: torch.device, dtype: torch.dtype) -> list[tuple[int, int]]:
    """Input ranges ``[(lo, hi), ...]`` whose ``(rows, n_feat * (hi - lo))`` features make a block each.

    The weight gradient's GEMM on such a block has ``n_feat * (hi - lo)`` columns, and with
    fewer than ``_MIN_INPUTS`` inputs it runs at a fraction of its speed, so narrow blocks fall
    back to few large ones, as short row blocks do. Widths are multiples of ``_VECTOR``: the
    kernel vectorises along the inputs, and a ragged width costs a masked tail per row and feature.
    """
    return _sized_blocks(n_in, rows * n_feat * dtype.itemsize, device, _MIN_INPUTS, _VECTOR)


def _sized_blocks(n: int, unit_bytes: int, device: torch.device, least: dict[str, int], multiple: int = 1):
    """``n`` units of ``unit_bytes`` in blocks of ``_CACHE_BYTES``, or of ``_LARGE_BYTES`` if fewer than ``least`` fit."""
    kind = device.type if device.type in _CACHE_BYTES else "cuda"
    most = _CACHE_BYTES[kind] // max(1, unit_bytes)
    if most < least[kind]:
        most = _LARGE_BYTES[kind] // max(1, unit_bytes)
    return _split(n, most, multiple)


def _split(n: int, most: int, multiple: int = 1) -> list[tuple[int, int]]:
    """``[0, n)`` as near-equal ranges ``[(lo, hi), ...]`` of at most ``max(most, 1)`` each.

    With ``multiple``, every range but the last has a length divisible by it, if ``most`` allows.
    """
    if n == 0:
        return []
    if most >= multiple:
        most -= most % multiple
    else:
        multiple = 1
    parts = -(-n // max(1, most))
    step = -(-n // parts)
    step = -(-step // multiple) * multiple
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)]


# In bytes; float32 blocks of 2^22 and 2^25 elements on CPU, 2^26 on CUDA.
_CACHE_BYTES = {"cpu": 1 << 24, "cuda": 1 << 28}
_LARGE_BYTES = {"cpu": 1 << 27, "cuda": 1 << 28}
_MIN_ROWS = {"cpu": 384, "cuda": 1}
_MIN_INPUTS = {"cpu": 64, "cuda": 1}
_VECTOR = 16  # float32 lanes of an AVX-512 register


def _weight_grad_by_inputs(x: Tensor, g: Tensor, grid: Grid, dtype: torch.dtype) -> Tensor:
    """``x (rows, in)``, ``g (rows, out)`` -> ``g^T @ features(x)``, ``(out, (G + k + 1) * in)`` in ``dtype``.

    For GEMMs in a lower precision than the parameters (bf16 under autocast). Summing per-row-
    block products, as the float32 path does with ``addmm_``, would round every partial product
    to bf16 (no CPU GEMM returns float32 from bf16 operands: ``torch.mm``'s ``out_dtype`` is
    CUDA-only) and cost a conversion and an addition pass over the whole weight per block. So
    the *inputs* are split instead: each block of input columns gets its features over all rows
    and one GEMM, whose float32 sums are rounded once and written once.
    """
    rows, n_in = x.shape
    n_feat = grid.n_bases + 1
    out = torch.empty(g.shape[1], n_feat, n_in, dtype=dtype, device=x.device)
    for lo, hi in _input_blocks(rows, n_in, n_feat, x.device, g.dtype):
        cols = grid._replace(knots=grid.knots[:, lo:hi], t0=grid.t0[lo:hi], inv_h=grid.inv_h[lo:hi])
        feats = _features(x[:, lo:hi], cols, g.dtype)  # (rows, n_feat * (hi - lo)); the kernel reads strided x
        out[:, :, lo:hi] = (g.t() @ feats).view(-1, n_feat, hi - lo)
    return out.flatten(1)


class _KANFunction(torch.autograd.Function):
    """``(rows, in) -> (rows, out)`` as GEMMs on the features, built block by block.

    Saves ``x`` and the combined weight in the GEMM dtype; backward rebuilds the features for
    the weight gradient and turns the features' gradient into the input's with the closed-form
    derivatives.
    """

    @staticmethod
    def forward(ctx, x, grid, base_weight, spline_weight, spline_scaler, dtype):
        # Every dtype is explicit here. Autocast off, the kernels see the state backward sees,
        # and are compiled once for both (autocast is part of what a compiled graph guards on).
        with torch.autocast(x.device.type, enabled=False):
            weight = combined_weight(base_weight, spline_weight, spline_scaler).to(dtype)
            out = torch.empty(x.shape[0], weight.shape[0], device=x.device, dtype=dtype)
            for lo, hi in _blocks(x.shape[0], weight.shape[1], x.device, dtype):
                feats = _features(x[lo:hi], grid, dtype)
                torch.mm(feats, weight.t(), out=out[lo:hi])
        ctx.save_for_backward(x, weight, spline_weight, spline_scaler)
        ctx.grid = grid
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, spline_weight, spline_scaler = ctx.saved_tensors
        grid, dtype = ctx.grid, weight.dtype
        rows, n_in = x.shape
        need_x, need_w = ctx.needs_input_grad[0], any(ctx.needs_input_grad[2:5])
        g = grad_out.to(dtype).contiguous()  # often an expanded view (from .sum()): materialise once
        grad_x = torch.empty_like(x) if need_x else None
        # In the parameters' precision the weight gradient is summed over the row blocks, with
        # the input gradient's; in a lower one it is computed by blocks of inputs afterwards.
        by_rows = need_w and dtype == spline_weight.dtype
        grad_w = torch.zeros(weight.shape, dtype=dtype, device=x.device) if by_rows else None  # zero for no rows
        for lo, hi in _blocks(rows, weight.shape[1], x.device, dtype):
            xc, gc = x[lo:hi], g[lo:hi]
            if by_rows:
                grad_w.addmm_(gc.t(), _features(xc, grid, dtype))
            if need_x:
                grad_feats = (gc @ weight).view(hi - lo, -1, n_in)
                grad_x[lo:hi] = _grad_input(xc, grad_feats, grid)
        if need_w and not by_rows:
            grad_w = _weight_grad_by_inputs(x, g, grid, spline_weight.dtype)
        grad_base = grad_spline = grad_scaler = None
        if need_w:
            grad_w = grad_w.view(-1, weight.shape[1] // n_in, n_in)
            grad_base = grad_w[:, 0]
            grad_comb = grad_w[:, 1:].transpose(1, 2)  # (out, in, G + k)
            grad_spline = grad_comb * spline_scaler.unsqueeze(-1)
            grad_scaler = (grad_comb * spline_weight).sum(-1)
        return grad_x, None, grad_base, grad_spline, grad_scaler, None


def rows_and_dtype(x: Tensor) -> tuple[Tensor, torch.dtype]:
    """``x (..., in)`` as contiguous rows ``(rows, in)`` (row blocks are slices of it), in float32 under
    autocast, and the dtype the output is computed in: the autocast dtype, else ``x``'s."""
    rows = x.reshape(-1, x.shape[-1]).contiguous()
    device_type = x.device.type
    if torch.is_autocast_enabled(device_type):
        return rows.float(), torch.get_autocast_dtype(device_type)
    return rows, x.dtype


def kan_linear(x: Tensor, grid: Grid, base_weight: Tensor, spline_weight: Tensor, spline_scaler: Tensor,
               dtype: torch.dtype) -> Tensor:
    """A KAN layer's output ``(rows, out)`` on ``x (rows, in)`` (:func:`rows_and_dtype`), computed in ``dtype``.

    ``grid`` holds the knots in ``x``'s dtype; ``base_weight (out, in)``, ``spline_weight
    (out, in, G + k)`` and ``spline_scaler (out, in)`` are the layer's parameters
    (:class:`kanmix.kan.KANLinear`), which get their gradients through the custom backward.
    """
    return _KANFunction.apply(x, grid, base_weight, spline_weight, spline_scaler, dtype)
