"""Integrated Gradients for the 2-layer link model, every IG step in one forward pass.

Captum's IG (what ``CaptumExplainer`` runs, baseline 0, Gauss–Legendre rule)
evaluates the gradient of the logit at ``α_s · inputs`` for ``n_steps`` values
of ``α`` one at a time, and each step repeats the per-edge gather and scatter
over the whole computation subgraph (tens of thousands of edges). Here all
steps share those passes. With every input scaled by ``α`` — the edge masks
``m``, users' layer-0 states ``X_u`` and movies' features ``X_m`` — layer 1 of
a mean-aggregating SAGE layer is a polynomial in ``α`` whose coefficients are
per-node sums computed once::

    agg_s(v) = 1/deg(v) · Σ_e α m_e · (α P[src e] + Q[src e]) = α² A_P(v) + α A_Q(v)

(``P`` the part of a source state that scales with the input, ``Q`` the part
that does not: bias and fixed embeddings). Per step only dense work on the
layer-1 nodes the pair reads remains, plus layer 2 over the edges into the
two endpoints. Backpropagating ``F = Σ_s (w_s/α_s) · logit_s`` (steps in
chunks of bounded memory, then once through the per-edge stage) yields
``Σ_s w_s ∇logit(α_s · inputs)``, and ``inputs ⊙`` that is Captum's IG
attribution exactly (same rule, same points; the tests hold it to ≤ 1e-5 of
``CaptumExplainer`` on the full graph). It supports the model it was written
for — 2 ``SAGEConv`` layers (mean, no normalisation or projection) and the
bilinear decoder — and says so otherwise, so callers fall back to Captum.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from reelgraph.graphs.hetero import RATES, REV_RATES
from reelgraph.models.pair import LinkModel

EdgeType = tuple[str, str, str]


@dataclass(frozen=True)
class IGInputs:
    """One pair's subgraph inputs (local indices).

    Attributes:
        user_state: users' layer-0 states ``(N_u, H)`` (attributed).
        movie_x: movies' raw features ``(N_m, F)`` (attributed).
        movie_extra: movies' fixed embedding + statistics term ``(N_m, H)``.
        rates: ``(2, E_r)`` user → movie edges; ``rev``: ``(2, E_v)`` movie → user.
        user, movie: local indices of the explained pair.
    """

    user_state: Tensor
    movie_x: Tensor
    movie_extra: Tensor
    rates: Tensor
    rev: Tensor
    user: int
    movie: int

    def to(self, device: torch.device) -> IGInputs:
        """The same inputs on ``device``."""
        if device.type == "cpu":
            return self
        move = {k: v.to(device) for k, v in vars(self).items() if isinstance(v, Tensor)}
        return IGInputs(**move, user=self.user, movie=self.movie)


@dataclass(frozen=True)
class IGResult:
    """Attributions (same shapes as the inputs) and the pair's logit."""

    user_attr: Tensor
    movie_attr: Tensor
    edge_attr: dict[EdgeType, Tensor]
    logit: float


def supported(model: LinkModel) -> bool:
    """True when ``model`` has the structure this module's algebra assumes."""
    enc = model.encoder
    if enc.cfg.layers != 2 or enc.cfg.rating_messages:
        return False
    for conv in enc.convs:
        for et in (RATES, REV_RATES):
            sage = _sage(conv, et)
            plain = not getattr(sage, "normalize", True) and not getattr(sage, "project", True)
            if not plain or not getattr(sage, "root_weight", False) or str(sage.aggr) != "mean":
                return False
    return True


# Per-step tensors are (steps, nodes, H) floats; chunks of steps keep them near this size.
STEP_CHUNK_ELEMENTS = 4_000_000


def integrated_gradients(model: LinkModel, inputs: IGInputs, n_steps: int = 50) -> IGResult:
    """Captum-equivalent IG (baseline 0, Gauss–Legendre, ``n_steps`` points) for one pair.

    Two-stage backpropagation: the step-independent per-node coefficients are
    computed once (with the per-edge work), steps run in chunks against detached
    copies of them (bounded memory for any ``n_steps``), and the summed chunk
    gradients are pushed through the per-edge stage once.
    """
    device = inputs.user_state.device
    alpha, weight = (t.to(device) for t in _rule(n_steps))
    x_u = inputs.user_state.detach().clone().requires_grad_(True)
    x_m = inputs.movie_x.detach().clone().requires_grad_(True)
    m_r = torch.ones(inputs.rates.shape[1], device=device, requires_grad=True)
    m_v = torch.ones(inputs.rev.shape[1], device=device, requires_grad=True)
    shared = _shared(model, inputs, x_u, x_m, m_r, m_v)
    leaves = {k: v.detach().requires_grad_(True) for k, v in shared.coefficients.items()}
    totals = {k: torch.zeros_like(v) for k, v in leaves.items()}
    chunk = max(1, STEP_CHUNK_ELEMENTS // max(1, shared.rows * model.cfg.hidden))
    for lo in range(0, n_steps, chunk):
        a, w = alpha[lo : lo + chunk], weight[lo : lo + chunk]
        objective = (w / a * _steps(model, shared, leaves, a)).sum()
        for key, g in zip(leaves, torch.autograd.grad(objective, list(leaves.values())), strict=True):
            totals[key] += g
    attributed = [x_u, x_m, m_r, m_v]
    wired = [k for k, v in shared.coefficients.items() if v.requires_grad]
    grads = torch.autograd.grad(
        [shared.coefficients[k] for k in wired], attributed, grad_outputs=[totals[k] for k in wired], allow_unused=True
    )
    g_u, g_m, g_r, g_v = (torch.zeros_like(t) if g is None else g for t, g in zip(attributed, grads, strict=True))
    with torch.no_grad():
        at_one = _steps(model, shared, leaves, alpha.new_ones(1))
    return IGResult(
        user_attr=(x_u * g_u).detach(),
        movie_attr=(x_m * g_m).detach(),
        edge_attr={RATES: g_r.detach(), REV_RATES: g_v.detach()},  # the inputs are 1: attribution = gradient
        logit=float(at_one[0]),
    )


@functools.lru_cache(maxsize=16)
def _rule(n_steps: int) -> tuple[Tensor, Tensor]:
    """Captum's Gauss–Legendre points and weights (cached: ``leggauss`` is O(n²) and up)."""
    from captum.attr._utils.approximation_methods import approximation_parameters

    step_sizes, alphas = approximation_parameters("gausslegendre")
    return torch.tensor(alphas(n_steps), dtype=torch.float32), torch.tensor(step_sizes(n_steps), dtype=torch.float32)


def _sage(layer: nn.Module, et: EdgeType) -> Any:
    """The ``SAGEConv`` of ``et`` inside a ``HeteroConv`` layer."""
    return layer.convs[et]  # type: ignore[index]


@dataclass(frozen=True)
class _Shared:
    """What every step shares: layer-1 pre-activations as ``α²·c2 + α·c1 + c0`` per node
    (``coefficients``, which carry the gradient), and layer 2's index structure."""

    coefficients: dict[str, Tensor]
    raters: Tensor  # positions in users1 of the users who rated the movie
    rated: Tensor  # positions in movies1 of the movies the user rated
    me: Tensor  # the movie's position in movies1
    ue: Tensor  # the user's position in users1
    rows: int  # |users1| + |movies1|


def _shared(model: LinkModel, inputs: IGInputs, x_u: Tensor, x_m: Tensor, m_r: Tensor, m_v: Tensor) -> _Shared:
    """The per-edge stage, once: layer-1 coefficients at the nodes layer 2 reads."""
    enc = model.encoder
    # Layer-0 states, split into an α-scaled and a fixed part: h0 = α·P + Q.
    # Users: P = x_u, Q = 0. Movies: P = x_m W_fᵀ, Q = b_f + extra (W_f applied after
    # aggregating, which is the same and gathers F instead of H columns per edge).
    w_f = enc.movie_lin.weight.T
    q_movie = enc.movie_lin.bias + inputs.movie_extra
    src_u, dst_m = inputs.rates
    src_m, dst_u = inputs.rev
    into_m, into_u = dst_m == inputs.movie, dst_u == inputs.user
    # Layer 1 only at the nodes layer 2 reads: the pair's neighbours and the pair itself.
    user, movie = src_u.new_tensor([inputs.user]), src_u.new_tensor([inputs.movie])
    users1 = torch.unique(torch.cat([src_u[into_m], user]))
    movies1 = torch.unique(torch.cat([src_m[into_u], movie]))
    sage_r, sage_v = _sage(enc.convs[0], RATES), _sage(enc.convs[0], REV_RATES)
    wl_r, wr_r, wl_v, wr_v = sage_r.lin_l.weight.T, sage_r.lin_r.weight.T, sage_v.lin_l.weight.T, sage_v.lin_r.weight.T
    mean_r = _MaskedMean(m_r, src_u, dst_m, movies1)
    mean_v = _MaskedMean(m_v, src_m, dst_u, users1)
    coefficients = {
        # movies1: α² · masked α-scaled user sources, α · root term, constants
        "m2": mean_r(x_u) @ wl_r,
        "m1": x_m[movies1] @ w_f @ wr_r,
        "m0": sage_r.lin_l.bias + q_movie[movies1] @ wr_r,
        # users1: α² · masked α-scaled movie sources, α · (masked fixed sources + root term)
        "u2": mean_v(x_m) @ w_f @ wl_v,
        "u1": mean_v(q_movie) @ wl_v + x_u[users1] @ wr_v,
        "u0": sage_v.lin_l.bias.expand(len(users1), -1),
        # layer-2 masks (α-scaled per step)
        "mask_m": m_r[into_m],
        "mask_u": m_v[into_u],
    }
    return _Shared(
        coefficients=coefficients,
        raters=torch.searchsorted(users1, src_u[into_m]),
        rated=torch.searchsorted(movies1, src_m[into_u]),
        me=torch.searchsorted(movies1, movie),
        ue=torch.searchsorted(users1, user),
        rows=len(users1) + len(movies1),
    )


def _steps(model: LinkModel, shared: _Shared, c: dict[str, Tensor], alpha: Tensor) -> Tensor:
    """The pair's logit at ``α_s · inputs`` for each ``α_s`` in ``alpha``: shape ``(S,)``."""
    a1, a2 = alpha[:, None, None], (alpha * alpha)[:, None, None]
    h1_movie = (a2 * c["m2"] + a1 * c["m1"] + c["m0"]).relu()  # (S, |movies1|, H)
    h1_user = (a2 * c["u2"] + a1 * c["u1"] + c["u0"]).relu()  # (S, |users1|, H)
    conv2 = model.encoder.convs[1]
    # Layer 2 at the pair only: the mean over the edges into it, masks scaled by α.
    h2_movie = _layer2(_sage(conv2, RATES), alpha, c["mask_m"], h1_user[:, shared.raters], h1_movie[:, shared.me])
    h2_user = _layer2(_sage(conv2, REV_RATES), alpha, c["mask_u"], h1_movie[:, shared.rated], h1_user[:, shared.ue])
    out: Tensor = model.decoder(h2_user, h2_movie)
    return out


class _MaskedMean:
    """``Σ_e m_e · state[src e] / deg(dst)`` at ``rows`` (PyG's explain-mode mean: masked
    messages, every edge counted in the denominator)."""

    def __init__(self, mask: Tensor, src: Tensor, dst: Tensor, rows: Tensor) -> None:
        n = int(torch.cat([dst, rows]).max()) + 1
        self.mask, self.src, self.dst, self.rows, self.n = mask, src, dst, rows, n
        ones = mask.new_ones(dst.numel()).detach()
        self.deg = mask.new_zeros(n).detach().index_add_(0, dst, ones).clamp(min=1)[rows, None]

    def __call__(self, state: Tensor) -> Tensor:
        # index_select + scatter_add: faster on CPU than fancy indexing + index_add.
        messages = self.mask[:, None] * state.index_select(0, self.src)
        index = self.dst[:, None].expand(-1, state.shape[1])
        summed = state.new_zeros(self.n, state.shape[1]).scatter_add(0, index, messages)
        return summed[self.rows] / self.deg


def _layer2(sage: Any, alpha: Tensor, mask: Tensor, h_src: Tensor, h_dst: Tensor) -> Tensor:
    """One node's layer-2 state per step, ``(S, H)``; ``h_src``: ``(S, k, H)``, ``h_dst``: ``(S, 1, H)``."""
    k = max(mask.numel(), 1)
    agg = torch.einsum("sk,skh->sh", alpha[:, None] * mask[None, :], h_src) / k
    out: Tensor = sage.lin_l(agg) + sage.lin_r(h_dst[:, 0])
    return out
