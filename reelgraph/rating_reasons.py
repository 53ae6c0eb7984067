"""Why the rating model predicts these stars: leave-one-out shares of a user's ratings, in stars.

The rating model (``RatingModel``, with its item-autoencoder term) is not linear
in a user's ratings, so a rating's share is what deleting it changes:
``share_i = r̂(ratings) − r̂(ratings without i)``, in raw stars (before the 0.5–5
clip, which would hide every change of a prediction past 5★). Shares need not
sum to the prediction: ratings interact.

The user is re-scored without retraining: movie states stay the stored ones, the
user's state is folded in from the remaining ratings (the GNN term: one
movie→user convolution per layer over the user's own edges, batched over subsets;
the autoencoder term: the ridge row of ``item_autoencoder.fold_in_user``). A
stored user keeps their ID embedding and rating times, so their whole history
gives exactly their served stars; a user given as a history has neither.

``RatingFoldIn.raw`` scores many subsets of one history in one batched pass (the
GNN term over the subsets' concatenated edges, the autoencoder term one batched
ridge solve); ``leave_one_out`` scores the ``n`` histories that each lack one
rating, the GNN term in batches and the autoencoder term by the exact
leave-one-out downdate of the full history's ridge solve (Sherman–Morrison), so
every share equals re-scoring without that rating.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from reelgraph.graphs.hetero import REV_RATES, MessageEdges
from reelgraph.models.encoder import node_stats
from reelgraph.models.pair import RatingModel

_LOO_EDGES = 200_000  # edges per batched GNN pass of leave-one-out histories
_DOWNDATE_FLOOR = 1e-3  # below this 1 − leverage the autoencoder row is re-solved, not downdated


@dataclass(frozen=True)
class RatedHistory:
    """One user's ratings as the rating model sees them.

    Attributes:
        movies: contiguous movie indices, int64.
        stars: float32, aligned with ``movies``.
        times: rating times (Unix seconds), int64, aligned.
        embedding: a stored user's ID embedding row (None: a new user, who has none).
    """

    movies: np.ndarray
    stars: np.ndarray
    times: np.ndarray
    embedding: Tensor | None = None

    @property
    def size(self) -> int:
        """How many ratings."""
        return int(self.movies.size)


@dataclass(frozen=True)
class RatingFoldIn:
    """The rating model's raw stars for subsets of a user's ratings, movie states fixed.

    Attributes:
        model: the bundle's rating model (eval mode).
        movie_layers: every stored movie's input to each encoder layer (``layer_inputs``).
        M: the served head's movie rows (``reelgraph.scoring.PairHead``): ``raw = M[m] · row``.
    """

    model: RatingModel
    movie_layers: list[Tensor]
    M: np.ndarray

    def rows(self, user: RatedHistory, subsets: list[np.ndarray]) -> np.ndarray:
        """Folded decoder rows ``(len(subsets), D)`` (``PairHead.U``) of the user rating only each subset."""
        with torch.no_grad():
            row = self._gnn_rows(user, subsets)
            ae = self.model.autoencoder
            if ae is not None:
                own = self._ae_rows(user, subsets)
                row = torch.cat([(1 - ae.cfg.blend) * row, ae.cfg.blend * own.float()], dim=1)
        return np.ascontiguousarray(row.numpy(), np.float32)

    def raw(self, user: RatedHistory, subsets: list[np.ndarray], target: int) -> np.ndarray:
        """Raw (unclipped) stars of ``target`` for each subset (positions into ``user``), float64."""
        with torch.no_grad():
            gnn = (self._gnn_rows(user, subsets).double() @ self._gnn_movie(target)).numpy()
        ae = self.model.autoencoder
        if ae is None:
            return gnn
        out: np.ndarray = (1 - ae.cfg.blend) * gnn + ae.cfg.blend * self._ae_raw(user, subsets, target)
        return out

    def leave_one_out(self, user: RatedHistory, target: int) -> np.ndarray:
        """``raw(all) − raw(all but rating i)`` for every rating ``i`` of ``user``."""
        n = user.size
        if n == 0:
            return np.zeros(0)
        everything = np.arange(n)
        full = self.raw(user, [everything], target)[0]
        gnn = np.empty(n)
        per_pass = max(1, _LOO_EDGES // max(n - 1, 1))
        with torch.no_grad():
            for start in range(0, n, per_pass):
                subsets = [np.delete(everything, i) for i in range(start, min(start + per_pass, n))]
                gnn[start : start + len(subsets)] = (
                    self._gnn_rows(user, subsets).double() @ self._gnn_movie(target)
                ).numpy()
        ae = self.model.autoencoder
        without = gnn if ae is None else (1 - ae.cfg.blend) * gnn + ae.cfg.blend * self._ae_leave_one_out(user, target)
        shares: np.ndarray = full - without
        return shares

    def _gnn_movie(self, target: int) -> Tensor:
        return torch.from_numpy(self.M[target, : self.model.cfg.hidden + 1]).double()

    def _gnn_rows(self, user: RatedHistory, subsets: list[np.ndarray]) -> Tensor:
        """The GNN term's folded rows ``[h_u W + b | aᵀh_u + c]``, one per subset."""
        encoder = self.model.encoder
        b = len(subsets)
        picked = np.concatenate([*subsets, np.zeros(0, np.int64)]).astype(np.int64)
        owner = torch.from_numpy(np.repeat(np.arange(b), [p.size for p in subsets]))
        movies = torch.from_numpy(user.movies[picked])
        stars = torch.from_numpy(user.stars[picked])
        edges = MessageEdges(torch.stack([owner, movies]), torch.from_numpy(user.times[picked]), stars)
        state = encoder.user_stats(node_stats(edges, b, encoder.cfg.num_movies)["user"])
        if user.embedding is not None:
            state = state + user.embedding
        edge_index = torch.stack([torch.arange(movies.numel()), owner])
        kwargs = {"edge_rating": stars} if encoder.cfg.rating_messages else {}
        for i, conv in enumerate(encoder.convs):
            movie_to_user: nn.Module = conv.convs[REV_RATES]  # type: ignore[index,operator,assignment]
            state = movie_to_user((self.movie_layers[i][movies], state), edge_index, **kwargs)
            if i < len(encoder.convs) - 1:
                state = state.relu()
        dec = self.model.decoder
        return torch.cat([state @ dec.W + dec.movie_bias.weight[0], dec.user_bias(state)], dim=1)

    def _ae_design(self, movies: np.ndarray, stars: np.ndarray) -> tuple[Tensor, Tensor, Tensor]:
        """``(X, A, Xᵀr)`` of the autoencoder's ridge: ``X = [h_m | 1]``, ``A = XᵀX + diag(reg)``."""
        ae = self.model.autoencoder
        assert ae is not None
        hidden = ae.cfg.hidden
        states = torch.from_numpy(self.M[movies, -(hidden + 1) : -1]).double()
        X = torch.cat([states, torch.ones(movies.size, 1, dtype=torch.float64)], dim=1)
        reg = torch.full((hidden + 1,), ae.cfg.l2 / 2, dtype=torch.float64)
        reg[-1] = 1e-6  # as ``item_autoencoder.fold_in_user``: the offset is essentially free
        return X, X.T @ X + torch.diag(reg), X.T @ torch.from_numpy(stars).double()

    def _ae_rows(self, user: RatedHistory, subsets: list[np.ndarray]) -> Tensor:
        """``[w_u | c_u]`` per subset (``item_autoencoder.fold_in_user``), float64 (Cholesky solves)."""
        rows = []
        for p in subsets:
            _, A, b = self._ae_design(user.movies[p], user.stars[p])
            rows.append(torch.cholesky_solve(b[:, None], torch.linalg.cholesky(A))[:, 0])
        return torch.stack(rows)

    def _ae_solved(self, user: RatedHistory, target: int) -> _Solved:
        ae = self.model.autoencoder
        assert ae is not None
        X, A, b = self._ae_design(user.movies, user.stars)
        x_t = torch.from_numpy(self.M[target, -(ae.cfg.hidden + 1) :]).double()
        factor = torch.linalg.cholesky(A)
        solved = torch.cholesky_solve(torch.stack([b, x_t], dim=1), factor)
        beta, z = solved[:, 0], solved[:, 1]
        r = torch.from_numpy(user.stars).double()
        return _Solved(X, factor, r, float(x_t @ beta), X @ beta, X @ z)

    def _ae_raw(self, user: RatedHistory, subsets: list[np.ndarray], target: int) -> np.ndarray:
        """The autoencoder term's raw stars of ``target`` for each subset of ``user``'s ratings.

        A subset that drops at most half the ratings (``R``) downdates the full solve
        (Woodbury): ``x_tᵀβ_S = x_tᵀβ − c_Rᵀr_R + c_Rᵀ(I − H_RR)⁻¹(ŷ_R − H_RR r_R)`` with
        ``c = Xz``, ``z = A⁻¹x_t``, ``H_RR = X_R A⁻¹ X_Rᵀ``, ``ŷ = Xβ``; others are solved afresh.
        """
        s = self._ae_solved(user, target)
        out = np.empty(len(subsets))
        fresh = []
        for j, kept in enumerate(subsets):
            gone = torch.from_numpy(np.setdiff1d(np.arange(user.size), kept))
            if gone.numel() > kept.size:
                fresh.append(j)
                continue
            X_R, r_R, c_R = s.X[gone], s.r[gone], s.c[gone]
            H = X_R @ torch.cholesky_solve(X_R.T, s.factor)
            K = torch.eye(gone.numel(), dtype=torch.float64) - H
            v = s.fitted[gone] - H @ r_R
            out[j] = (
                s.at_target - float(c_R @ r_R) + float(c_R @ torch.linalg.solve(K, v)) if gone.numel() else s.at_target
            )
        if fresh:
            rows = self._ae_rows(user, [subsets[j] for j in fresh])
            ae = self.model.autoencoder
            assert ae is not None
            x_t = torch.from_numpy(self.M[target, -(ae.cfg.hidden + 1) :]).double()
            out[fresh] = (rows @ x_t).numpy()
        return out

    def _ae_leave_one_out(self, user: RatedHistory, target: int) -> np.ndarray:
        """The autoencoder term's raw stars of ``target`` without each rating in turn.

        Rating ``i``'s row downdates exactly (Sherman–Morrison):
        ``x_tᵀβ₋ᵢ = x_tᵀβ − (x_iᵀA⁻¹x_t)·(r_i − x_iᵀβ) / (1 − x_iᵀA⁻¹x_i)``.
        """
        s = self._ae_solved(user, target)
        leverage = (s.X * torch.cholesky_solve(s.X.T, s.factor).T).sum(dim=1)
        keep = 1 - leverage
        out = s.at_target - s.c * (s.r - s.fitted) / keep.clamp(min=_DOWNDATE_FLOOR)
        for i in torch.nonzero(keep < _DOWNDATE_FLOOR).flatten().tolist():  # too close to 1: solve afresh
            out[i] = float(self._ae_raw(user, [np.delete(np.arange(user.size), i)], target)[0])
        result: np.ndarray = out.numpy()
        return result


@dataclass(frozen=True)
class _Solved:
    """The autoencoder ridge of a whole history: ``X``, the Cholesky factor of ``A``, the stars,
    ``x_tᵀβ``, the fitted ``Xβ`` and ``c = X·A⁻¹x_t``."""

    X: Tensor
    factor: Tensor
    r: Tensor
    at_target: float
    fitted: Tensor
    c: Tensor
