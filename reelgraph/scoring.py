"""In-process scoring over a verified bundle: a gather and a decoder.

Node states are computed once at load; every call is then an id lookup, a
gather and a small dot product. Used by the server and in notebooks::

    scorer = Scorer.load("bundles/ml-latest-small")        # latest version
    p = scorer.link_probability(np.array([1, 1]), np.array([1, 50]))
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from scipy.special import expit

from reelgraph import new_movies
from reelgraph.bundle.loader import Bundle, load_bundle
from reelgraph.errors import (
    BundleError,
    FieldViolation,
    InvalidOptionError,
    InvalidRequestError,
    ModelUnavailableError,
    UnknownIdsError,
)
from reelgraph.graphs.hetero import MessageEdges
from reelgraph.graphs.idmap import IdMap
from reelgraph.jobs.records import ChainInfluence
from reelgraph.models.content import ContentHead
from reelgraph.models.encoder import EncoderConfig, layer_inputs
from reelgraph.models.item_autoencoder import AutoencoderConfig, ItemAutoencoder, all_movie_states, rating_columns
from reelgraph.models.movie_gcn import MovieGCN, MovieGCNConfig
from reelgraph.models.pair import MAX_STARS, MIN_STARS, LinkModel, PairModel, RatingModel
from reelgraph.models.ranking import CoRatingRanker, Histories, RankingConfig, RankingHead
from reelgraph.new_movies import Audience, ContentMovie
from reelgraph.options import ModelKind
from reelgraph.rating_reasons import RatedHistory, RatingFoldIn
from reelgraph.reasons import (
    CoRater,
    RatedReason,
    RatingReasons,
    Reasons,
    apportion,
    check,
    check_subsets,
    rating_sentence,
    sentence,
    top_shares,
)

_RECOMMEND_CHUNK = 1024  # users per (users × movies) score block
_PAIR_CHUNK = 4096  # pairs per gather-and-dot block
# Stored users' ranking scores are precomputed at load while users × movies × 4 B stays under this
# (ml-latest-small: 24 MB); larger bundles compute them per request (one sparse product per block).
_PRECOMPUTE_BYTES = 512 * 2**20
_TABLE_BYTES = 256 * 2**20  # a wide pair head keeps users × movies scores below this (ml-latest-small: 24 MB)


@dataclass(frozen=True)
class PairHead:
    """A pair model folded into gather-ready arrays.

    ``score(u, m) = U[u] · M[m]`` with ``U = [h_u W + b | a·h_u + c]`` and
    ``M = [h_m | 1]``: the bilinear decoder's affine terms ride along as one
    extra column, so a batch is two row gathers and one row-wise dot product.
    A wide head (the rating model with its autoencoder term, ~570 columns)
    keeps the whole ``users × movies`` table ``U·Mᵀ`` instead when it fits in
    ``_TABLE_BYTES``: a batch is then one gather.
    """

    U: np.ndarray
    M: np.ndarray
    table: np.ndarray | None = None

    @classmethod
    def from_model(cls, model: PairModel, movie_x: torch.Tensor, edges: MessageEdges) -> PairHead:
        """Encode the whole graph once and fold the decoder."""
        model.eval()
        with torch.no_grad():
            h = model.encode(movie_x, edges)
            dec = model.decoder
            P = h["user"] @ dec.W + dec.movie_bias.weight
            q = dec.user_bias(h["user"])
            U = torch.cat([P, q], dim=1)
            M = torch.cat([h["movie"], torch.ones(h["movie"].shape[0], 1)], dim=1)
            ae = model.autoencoder if isinstance(model, RatingModel) else None
            if ae is not None:
                # (1 − β)·GNN + β·(w_u·h_m + c_u) is still one dot product: append the autoencoder's columns.
                e = edges.edge_index.numpy()
                columns = rating_columns(e[1], e[0], edges.rating.numpy(), M.shape[0], U.shape[0])
                H = all_movie_states(ae, columns)
                beta = ae.cfg.blend
                U = torch.cat([(1 - beta) * U, beta * ae.decoder.weight, beta * ae.decoder.bias[:, None]], dim=1)
                M = torch.cat([M, H, torch.ones(H.shape[0], 1)], dim=1)
        head = cls(np.ascontiguousarray(U.numpy(), np.float32), np.ascontiguousarray(M.numpy(), np.float32))
        if ae is not None and U.shape[0] * M.shape[0] * 4 <= _TABLE_BYTES:
            return cls(head.U, head.M, head.U @ head.M.T)
        return head

    def pairs(self, u: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Raw float32 scores of row-aligned index arrays."""
        if self.table is not None:
            cells: np.ndarray = self.table[u, m]
            return cells
        if u.size <= _PAIR_CHUNK:  # the per-request case: three numpy calls
            out: np.ndarray = np.vecdot(self.U.take(u, axis=0), self.M.take(m, axis=0))
            return out
        out = np.empty(u.size, dtype=np.float32)
        # Chunks keep the gathered rows in cache, faster than one big gather;
        # take + vecdot (a ufunc) cost less per call than fancy indexing + einsum.
        for s in range(0, u.size, _PAIR_CHUNK):
            chunk = slice(s, s + _PAIR_CHUNK)
            np.vecdot(self.U.take(u[chunk], axis=0), self.M.take(m[chunk], axis=0), out=out[chunk])
        return out

    def all_movies(self, u: np.ndarray) -> np.ndarray:
        """``(len(u), num_movies)`` raw float32 scores."""
        out: np.ndarray = self.table[u] if self.table is not None else self.U[u] @ self.M.T
        return out


@dataclass(frozen=True)
class Recommendations:
    """Top-k per user: ``movie_ids`` and ``scores`` are ``(num_users, k)``.

    Scores are link probabilities (the ranking model's calibrated ``P(rate)``
    when the bundle has one); rows shorter than k (few unrated movies) are
    padded with movie id -1 and score NaN. A history given at request time has
    user id -1.
    """

    user_ids: np.ndarray
    movie_ids: np.ndarray
    scores: np.ndarray


class Scorer:
    """Scores (user, movie) pairs with a bundle's models; ids are MovieLens ids."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        g = bundle.graph
        self.users = IdMap("user", g.user_ids.numpy())
        self.movies = IdMap("movie", g.movie_ids.numpy())
        self._edges = g.message_edges()
        self._rated = _rated_csr(self._edges.edge_index.numpy(), len(self.users))
        self._titles = g.titles
        self.genres = g.genres.numpy()
        self.heads = {
            kind: self._head(kind)
            for kind in (ModelKind.LINK, ModelKind.RATING)
            if kind.value in bundle.manifest.models
        }
        self._movie_means = self._movie_gcn() if ModelKind.MOVIE_GCN.value in bundle.manifest.models else None
        self._rating_fold: RatingFoldIn | None = None  # built on first fold-in
        self.ranking = self._ranking() if ModelKind.RANKING.value in bundle.manifest.models else None
        e = self._edges
        self.histories = Histories.from_edges(
            e.edge_index[0].numpy(), e.edge_index[1].numpy(), e.rating.numpy(), len(self.users)
        )
        self._stored_scores = self._precompute_ranking()
        self._raters: sp.csc_matrix | None = None  # movie → raters, built on the first explanation

    @classmethod
    def load(cls, path: Path | str) -> Scorer:
        """Load and verify a bundle version, or the latest under a bundle name."""
        return cls(load_bundle(path))

    @property
    def name(self) -> str:
        """Bundle name."""
        return self.bundle.manifest.name

    @property
    def version(self) -> str:
        """Bundle version."""
        return self.bundle.manifest.version

    def link_probability(self, user_ids: np.ndarray, movie_ids: np.ndarray) -> np.ndarray:
        """P(user rates movie) per pair, float32. Raises ``UnknownIdsError``."""
        return self.link_probability_at(*self._index_pairs(user_ids, movie_ids))

    def predict_rating(self, user_ids: np.ndarray, movie_ids: np.ndarray) -> np.ndarray:
        """Predicted stars (0.5–5) per pair, float32. Raises ``UnknownIdsError``."""
        return self.rating_at(*self._index_pairs(user_ids, movie_ids))

    def link_probability_at(self, u: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Like ``link_probability`` for contiguous indices (already validated)."""
        return _sigmoid(self._need(ModelKind.LINK).pairs(u, m))

    def rating_at(self, u: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Like ``predict_rating`` for contiguous indices (already validated)."""
        stars: np.ndarray = np.clip(self._need(ModelKind.RATING).pairs(u, m), MIN_STARS, MAX_STARS)
        return stars

    def movie_mean_rating(self, movie_ids: np.ndarray) -> np.ndarray:
        """The movie GCN's predicted mean rating per movie (works for unrated movies)."""
        if self._movie_means is None:
            raise ModelUnavailableError(f"bundle {self.name}/{self.version} has no movie-gcn model")
        means: np.ndarray = self._movie_means[self.movies.index(movie_ids)]
        return means

    def recommend(
        self, user_ids: np.ndarray, k: int = 10, exclude_rated: bool = True, genres: list[str] | None = None
    ) -> Recommendations:
        """Top-``k`` movies per stored user.

        Ranked by the ranking model over the user's stored ratings when the
        bundle has one (exactly ``recommend_from_ratings`` of that history),
        else by the link model.

        Args:
            user_ids: MovieLens user ids, int64.
            k: list length (≥ 1).
            exclude_rated: drop movies the user already rated (default True).
            genres: keep only movies with at least one of these genres
                (names as in the manifest's ``genre_names``); None keeps all.
        """
        allowed = None if not genres else self.genre_mask(genres)
        _check_k(k)
        users = self.users.index(user_ids)
        out = _RankedRows(users.size, k)
        for start in range(0, users.size, _RECOMMEND_CHUNK):
            chunk = users[start : start + _RECOMMEND_CHUNK]
            to_prob: Callable[[np.ndarray], np.ndarray]
            if self.ranking is not None:
                block, to_prob = self._ranking_block(chunk), self.ranking.probability
            else:
                block, to_prob = self._need(ModelKind.LINK).all_movies(chunk), _sigmoid
            rated = _rated_cells(self._rated, chunk) if exclude_rated else None
            out.fill(start, block, rated, allowed, self.movies, to_prob)
        return Recommendations(np.asarray(user_ids, dtype=np.int64), out.ids, out.scores)

    def recommend_from_ratings(
        self, movie_ids: np.ndarray, stars: np.ndarray, k: int = 10, genres: list[str] | None = None
    ) -> Recommendations:
        """Top-``k`` for one user given as their ratings (MovieLens movie ids, 0.5–5 stars).

        Nothing is stored; the given movies are never recommended back. An empty
        history ranks by popularity (the model's cold default). Raises
        ``UnknownIdsError`` for movies outside the bundle and
        ``InvalidRequestError`` for bad stars or shapes.
        """
        _check_k(k)
        allowed = None if not genres else self.genre_mask(genres)
        ranking = self._need_ranking()
        h = self._history(movie_ids, stars)
        out = _RankedRows(1, k)
        rated = (np.zeros(h.movies.size, np.int64), h.movies)
        out.fill(0, ranking.scores(h), rated, allowed, self.movies, ranking.probability)
        return Recommendations(np.array([-1], dtype=np.int64), out.ids, out.scores)

    def link_probability_from_ratings(
        self, movie_ids: np.ndarray, stars: np.ndarray, candidate_movie_ids: np.ndarray
    ) -> np.ndarray:
        """Calibrated P(the user rates the movie) per candidate, float32, for a user given as ratings."""
        raw = self.ranking_score_from_ratings(movie_ids, stars, candidate_movie_ids)
        return self._need_ranking().probability(raw)

    def ranking_score_from_ratings(
        self, movie_ids: np.ndarray, stars: np.ndarray, candidate_movie_ids: np.ndarray
    ) -> np.ndarray:
        """The ranking model's raw score ``s`` (the logit before calibration) per candidate."""
        ranking = self._need_ranking()
        h = self._history(movie_ids, stars)
        candidates = self.movies.index(np.asarray(candidate_movie_ids, dtype=np.int64))
        return ranking.pair_scores(h, candidates)

    def explain_from_ratings(
        self, movie_ids: np.ndarray, stars: np.ndarray, movie_id: int, k: int = 5, exclude_user: int | None = None
    ) -> Reasons:
        """Why the ranking model scores ``movie_id`` for a user given as ratings (``reelgraph.reasons``).

        Names up to ``k`` of the user's ratings with the largest positive exact
        shares of the calibrated logit ``a·s + c``, the co-raters behind them,
        the popularity part (logit units), a sentence, and the logit checks
        (named ratings removed, as many random ones removed, only the named
        ones kept) re-scored through the fold-in path. ``exclude_user`` (a stored user's index)
        leaves that user out of the co-raters.
        """
        ranking = self._need_ranking()
        h = self._history(movie_ids, stars)
        target = int(self.movies.index(np.array([movie_id], dtype=np.int64))[0])
        # In logit units: the calibrated logit is a·s + c, so a rating's share of it is a·w(r)·B[i, target].
        shares = ranking.cfg.calib_scale * ranking.contributions(h, target)
        named = top_shares(shares, k)
        reasons = [
            RatedReason(int(m), t, float(r), float(c))
            for m, t, r, c in zip(
                self.movies.raw(h.movies[named]),
                self.titles(self.movies.raw(h.movies[named])),
                h.stars[named],
                shares[named],
                strict=True,
            )
        ]

        def score(movies: np.ndarray, given: np.ndarray) -> float:
            raw = ranking.pair_scores(Histories.one(movies, given), np.array([target]))[0]
            return float(ranking.cfg.calib_scale * raw + ranking.cfg.calib_bias)

        fidelity = check(score, h.movies, h.stars, named)
        count, mean = self._co_raters(target, h.movies[named], exclude_user)
        title = self._titles[target]
        chains, people = self._chains(target, h, named, shares, exclude_user)
        return Reasons(
            int(movie_id),
            title,
            float(expit(fidelity.full)),  # fidelity.full is already the calibrated logit a·s + c
            reasons,
            float(ranking.cfg.calib_scale * ranking.prior[target]),
            count,
            mean,
            fidelity,
            sentence(title, reasons, count, mean),
            chains=chains,
            people=people,
            rated_total=float(shares.sum()),
            bias=float(ranking.cfg.calib_bias),
            positive=int((shares > 0).sum()),
            genre_shares=self._genre_shares(target, h.movies, shares),
        )

    def _chains(
        self, target: int, h: Histories, named: np.ndarray, shares: np.ndarray, exclude_user: int | None
    ) -> tuple[list[ChainInfluence], list[CoRater]]:
        """The named ratings' chains (rated movie → target over ``B``) and the co-raters behind them."""
        ranking = self._need_ranking()
        raters = self._raters_csc()
        col = slice(raters.indptr[target], raters.indptr[target + 1])
        users, target_stars = raters.indices[col], raters.data[col]
        if exclude_user is not None:
            keep = users != exclude_user
            users, target_stars = users[keep], target_stars[keep]
        movies = h.movies[named]
        of = [raters.indices[raters.indptr[m] : raters.indptr[m + 1]] for m in movies]
        who, member, scores = apportion(users, of, shares[named])
        weights = ranking.input_weights(h)[named]
        edges = ranking.B[:, [target]].toarray().ravel()[movies]
        ids, titles = self.movies.raw(movies), self.titles(self.movies.raw(movies))
        chains = []
        for c in range(movies.size):
            inside = member[:, c] if who.size else np.zeros(0, bool)
            stars_c = target_stars[who[inside]]
            chains.append(
                ChainInfluence(int(ids[c]), titles[c], float(h.stars[named][c]), float(weights[c]), float(edges[c]),
                      float(shares[named][c]), int(inside.sum()), float(stars_c.mean()) if stars_c.size else 0.0)
            )  # fmt: skip
        user_ids = self.users.raw(users[who]) if who.size else np.zeros(0, np.int64)
        people = [
            CoRater(int(u), [int(m) for m, x in zip(ids, row, strict=True) if x], float(s), float(sc))
            for u, row, s, sc in zip(user_ids, member, target_stars[who], scores, strict=True)
        ]
        return chains, people

    def _genre_shares(self, target: int, movies: np.ndarray, shares: np.ndarray) -> dict[str, float]:
        """Per genre of the target: the summed shares of rated movies with that genre."""
        names = list(self.bundle.manifest.data.get("genre_names", []))
        cols = np.flatnonzero(np.asarray(self.genres[target]).ravel())
        rated = np.asarray(self.genres[movies])
        return {names[g]: float(shares[rated[:, g] > 0].sum()) for g in cols if g < len(names)}

    def _raters_csc(self) -> sp.csc_matrix:
        if self._raters is None:
            self._raters = self.histories.matrix(len(self.movies), self.histories.stars).tocsc()
        return self._raters

    def explain_recommendation(self, user_id: int, movie_id: int, k: int = 5) -> Reasons:
        """``explain_from_ratings`` for a stored user's stored ratings (the user is not their own co-rater)."""
        u = int(self.users.index(np.array([user_id], dtype=np.int64))[0])
        h = self.histories.rows(np.array([u]))
        return self.explain_from_ratings(self.movies.raw(h.movies), h.stars, movie_id, k, exclude_user=u)

    def _co_raters(self, target: int, named: np.ndarray, exclude_user: int | None) -> tuple[int, float]:
        """Stored users who rated ``target`` and any ``named`` movie; their mean stars for ``target``."""
        raters = self._raters_csc()
        col = slice(raters.indptr[target], raters.indptr[target + 1])
        users, target_stars = raters.indices[col], raters.data[col]
        named_users = np.concatenate(
            [raters.indices[raters.indptr[m] : raters.indptr[m + 1]] for m in named] or [np.zeros(0)]
        )
        both = np.isin(users, named_users)
        if exclude_user is not None:
            both &= users != exclude_user
        return int(both.sum()), float(target_stars[both].mean()) if both.any() else 0.0

    def predict_rating_from_ratings(
        self, movie_ids: np.ndarray, stars: np.ndarray, candidate_movie_ids: np.ndarray
    ) -> np.ndarray:
        """Predicted stars (0.5–5) per candidate for a user given as ratings, float32.

        One pass of the rating GNN's encoder for a user node attached to the
        given ratings (``RatingModel.fold_in``): movie states are the stored
        ones, the new user has no ID embedding.
        """
        h = self._history(movie_ids, stars)
        head = self._need(ModelKind.RATING)
        candidates = self.movies.index(np.asarray(candidate_movie_ids, dtype=np.int64))
        state = self._rating_fold_in(h)
        raw = head.M.take(candidates, axis=0) @ state
        out: np.ndarray = np.clip(raw, MIN_STARS, MAX_STARS).astype(np.float32)
        return out

    def genre_mask(self, genres: list[str]) -> np.ndarray:
        """Boolean mask over movie indices: has any of ``genres``; unknown names raise."""
        names = list(self.bundle.manifest.data.get("genre_names", []))
        unknown = [g for g in genres if g not in names]
        if unknown:
            raise InvalidOptionError(f"unknown genre(s) {', '.join(map(repr, unknown))}; known: {', '.join(names)}")
        cols = [names.index(g) for g in genres]
        mask = np.asarray(self.genres[:, cols].any(axis=1))
        return mask

    def titles(self, movie_ids: np.ndarray) -> list[str]:
        """Titles of MovieLens movie ids."""
        return [self._titles[i] for i in self.movies.index(movie_ids)]

    def _index_pairs(self, user_ids: np.ndarray, movie_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        user_ids, movie_ids = np.asarray(user_ids, dtype=np.int64), np.asarray(movie_ids, dtype=np.int64)
        if user_ids.shape != movie_ids.shape or user_ids.ndim != 1:
            raise ValueError(
                f"user_ids and movie_ids must be 1-D of equal length, got {user_ids.shape} and {movie_ids.shape}"
            )
        return self.users.index(user_ids), self.movies.index(movie_ids)

    def _need(self, kind: ModelKind) -> PairHead:
        if kind not in self.heads:
            raise ModelUnavailableError(f"bundle {self.name}/{self.version} has no {kind.value} model")
        return self.heads[kind]

    def _head(self, kind: ModelKind) -> PairHead:
        model = self._pair_model(kind)
        return PairHead.from_model(model, self.bundle.graph.movie_x, self._edges)

    def _pair_model(self, kind: ModelKind) -> PairModel:
        entry = self.bundle.manifest.models[kind.value]
        config = dict(entry.config)
        autoencoder = config.pop("autoencoder", None)  # bundles before the autoencoder term have none
        cfg = EncoderConfig(**config)
        model: PairModel = LinkModel(cfg) if kind is ModelKind.LINK else RatingModel(cfg)
        if isinstance(model, RatingModel) and autoencoder is not None:
            model.attach_autoencoder(ItemAutoencoder(AutoencoderConfig(**autoencoder)))
        model.load_state_dict(self.bundle.model_weights(kind.value))
        model.eval()
        return model

    def _rating_fold_in(self, h: Histories) -> np.ndarray:
        """The folded decoder row ``U`` (see ``PairHead``) of a new user given as ratings."""
        row: np.ndarray = self._rating_folder().rows(self._new_user(h), [np.arange(h.movies.size)])[0]
        return row

    def _rating_folder(self) -> RatingFoldIn:
        """The rating model's fold-in over fixed movie states (``reelgraph.rating_reasons``), built once."""
        if self._rating_fold is None:
            head = self._need(ModelKind.RATING)
            model = self._pair_model(ModelKind.RATING)
            assert isinstance(model, RatingModel)
            with torch.no_grad():
                layers = layer_inputs(model.encoder, self.bundle.graph.movie_x, self._edges)
            self._rating_fold = RatingFoldIn(model, layers, head.M)
        return self._rating_fold

    def _new_user(self, h: Histories) -> RatedHistory:
        """A user given as ratings: rated now (the newest stored time), no ID embedding."""
        return RatedHistory(h.movies, h.stars, np.full(h.movies.size, int(self._edges.time.max()), np.int64))

    def explain_rating_from_ratings(
        self, movie_ids: np.ndarray, stars: np.ndarray, movie_id: int, k: int = 5
    ) -> RatingReasons:
        """Why the rating model predicts ``predict_rating_from_ratings`` stars of ``movie_id`` (``RatingReasons``).

        Each rating's share is the drop of the raw predicted stars when it alone is
        deleted (``reelgraph.rating_reasons``); names up to ``k`` that raise the
        prediction most and ``k`` that lower it most, a sentence, the co-raters of
        the named movies, and the checks in stars (named ratings removed, as many
        random ones removed, only the named ones kept).
        """
        h = self._history(movie_ids, stars)
        target = int(self.movies.index(np.array([movie_id], dtype=np.int64))[0])
        return self._explain_rating(self._new_user(h), target, k, None)

    def explain_rating(self, user_id: int, movie_id: int, k: int = 5) -> RatingReasons:
        """``explain_rating_from_ratings`` of a stored user's ``predict_rating``.

        The user keeps their ID embedding and rating times, so their whole history
        re-scores to their served stars; deletions change only their ratings.
        """
        u = int(self.users.index(np.array([user_id], dtype=np.int64))[0])
        target = int(self.movies.index(np.array([movie_id], dtype=np.int64))[0])
        rows = slice(self.histories.indptr[u], self.histories.indptr[u + 1])
        with torch.no_grad():
            model = self._rating_folder().model
            embedding = model.encoder.user_emb.weight[u]
        times = self._history_times[rows]
        user = RatedHistory(self.histories.movies[rows], self.histories.stars[rows], times, embedding)
        return self._explain_rating(user, target, k, u)

    def _explain_rating(self, user: RatedHistory, target: int, k: int, exclude_user: int | None) -> RatingReasons:
        fold = self._rating_folder()
        shares = fold.leave_one_out(user, target)
        named, lowered = top_shares(shares, k), top_shares(-shares, k)
        fidelity = check_subsets(lambda subsets: fold.raw(user, subsets, target), user.size, named)
        ids = self.movies.raw(user.movies)
        titles = self.titles(ids[np.concatenate([named, lowered])])

        def reasons(at: np.ndarray, names: list[str]) -> list[RatedReason]:
            return [
                RatedReason(int(ids[i]), t, float(user.stars[i]), float(shares[i]))
                for i, t in zip(at, names, strict=True)
            ]

        up, down = reasons(named, titles[: named.size]), reasons(lowered, titles[named.size :])
        count, mean = self._co_raters(target, user.movies[named], exclude_user)
        title = self._titles[target]
        stars = float(np.clip(fidelity.full, MIN_STARS, MAX_STARS))
        return RatingReasons(
            int(self.movies.raw(np.array([target]))[0]), title, stars, fidelity.full, up, down,
            int((shares > 0).sum()), int((shares < 0).sum()), count, mean, fidelity,
            rating_sentence(stars, title, up, count, mean), float(shares.sum()),
        )  # fmt: skip

    def _precompute_ranking(self) -> np.ndarray | None:
        if self.ranking is None or len(self.users) * len(self.movies) * 4 > _PRECOMPUTE_BYTES:
            return None
        out = np.empty((len(self.users), len(self.movies)), dtype=np.float32)
        for start in range(0, len(self.users), _RECOMMEND_CHUNK):
            rows = np.arange(start, min(start + _RECOMMEND_CHUNK, len(self.users)))
            out[rows] = self.ranking.scores(self.histories.rows(rows))
        return out

    def _ranking_block(self, users: np.ndarray) -> np.ndarray:
        """Raw ranking scores of stored users (a copy: callers mask it)."""
        if self._stored_scores is not None:
            block: np.ndarray = self._stored_scores.take(users, axis=0)
            return block
        assert self.ranking is not None
        return self.ranking.scores(self.histories.rows(users))

    def _need_ranking(self) -> RankingHead:
        if self.ranking is None:
            raise ModelUnavailableError(f"bundle {self.name}/{self.version} has no ranking model")
        return self.ranking

    def _history(self, movie_ids: np.ndarray, stars: np.ndarray) -> Histories:
        """Validated history of one user as contiguous movie indices (duplicates keep the last)."""
        movie_ids = np.asarray(movie_ids, dtype=np.int64)
        stars = np.asarray(stars, dtype=np.float32)
        violations = []
        if movie_ids.ndim != 1 or stars.shape != movie_ids.shape:
            violations.append(
                FieldViolation("stars", f"needs one star per movie id, got {stars.shape} for {movie_ids.shape}")
            )
        elif stars.size and not (np.isfinite(stars).all() and stars.min() >= MIN_STARS and stars.max() <= MAX_STARS):
            bad = stars[~(np.isfinite(stars) & (stars >= MIN_STARS) & (stars <= MAX_STARS))]
            violations.append(FieldViolation("stars", f"must be {MIN_STARS}–{MAX_STARS}, got {bad[:5].tolist()}"))
        if violations:
            raise InvalidRequestError(violations)
        movies = self.movies.index(movie_ids)
        # A movie rated twice counts once, with its last stars (as the data readers do).
        _, last = np.unique(movies[::-1], return_index=True)
        keep = np.sort(movies.size - 1 - last)
        return Histories.one(movies[keep], stars[keep])

    def _ranking(self) -> RankingHead:
        entry = self.bundle.manifest.models[ModelKind.RANKING.value]
        model = CoRatingRanker(RankingConfig(**entry.config))
        model.load_state_dict(self.bundle.model_weights(ModelKind.RANKING.value))
        return RankingHead(model)

    def _movie_gcn(self) -> np.ndarray:
        entry = self.bundle.manifest.models[ModelKind.MOVIE_GCN.value]
        model = MovieGCN(MovieGCNConfig(**entry.config))
        model.load_state_dict(self.bundle.model_weights(ModelKind.MOVIE_GCN.value))
        model.eval()
        g = self.bundle.graph.movie_gcn
        if g is None:
            raise BundleError(f"{self.bundle.path}: a movie-gcn model without its graph (movie_gcn.* tensors)")
        with torch.no_grad():
            out = model(g.x, g.edge_index, g.edge_weight)
        means: np.ndarray = out.clamp(MIN_STARS, MAX_STARS).numpy().astype(np.float32)
        return means

    # Movies given as content (not in the bundle): logic in reelgraph.new_movies.

    @functools.cached_property
    def _history_times(self) -> np.ndarray:
        """Rating times (int64 seconds) in ``histories``' order (built on first use: one stable sort of the edges)."""
        order = np.argsort(self._edges.edge_index[0].numpy(), kind="stable")  # as ``Histories.from_edges``
        times: np.ndarray = self._edges.time.numpy()[order]
        times.flags.writeable = False  # shared by every call: a caller's write would corrupt later explanations
        return times

    @functools.cached_property
    def content(self) -> ContentHead:
        """The bundle's content model (built on first use); raises ``ModelUnavailableError`` without one."""
        return new_movies.load_content_head(self.bundle)

    def link_probability_new_movie(
        self,
        user_ids: np.ndarray,
        genres: Sequence[str],
        year: int | None = None,
        title: str = "",
        tags: Sequence[str] = (),
    ) -> np.ndarray:
        """Calibrated P(user rates a movie given as content) per user id, float32.

        ``genres`` are names as in the manifest's ``genre_names``; ``year`` 1870–2100
        or None; ``title`` and ``tags`` are optional words. Raises
        ``InvalidRequestError`` (unknown genres, bad year, blank title) and ``UnknownIdsError``.
        """
        return new_movies.link_probability(
            self.content, self.users, user_ids, ContentMovie.of(genres, year, title, tags)
        )

    def predict_rating_new_movie(
        self,
        user_ids: np.ndarray,
        genres: Sequence[str],
        year: int | None = None,
        title: str = "",
        tags: Sequence[str] = (),
    ) -> np.ndarray:
        """Predicted stars (0.5–5) per user id for a movie given as content, float32 (arguments as above)."""
        return new_movies.predict_rating(self.content, self.users, user_ids, ContentMovie.of(genres, year, title, tags))

    def movie_mean_rating_new_movie(
        self, genres: Sequence[str], year: int | None = None, title: str = "", tags: Sequence[str] = ()
    ) -> float:
        """Predicted mean stars (0.5–5) of a movie nobody has rated, from its content alone."""
        head = self.content
        return head.movie_mean(new_movies.features(head, ContentMovie.of(genres, year, title, tags)))

    def audience_new_movie(
        self, genres: Sequence[str], year: int | None = None, title: str = "", tags: Sequence[str] = (), k: int = 10
    ) -> Audience:
        """The ``k`` (≥ 1) stored users most likely to rate a movie given as content, best first."""
        return new_movies.audience(self.content, self.users, ContentMovie.of(genres, year, title, tags), k)


def _check_k(k: int) -> None:
    if k < 1:
        raise InvalidOptionError(f"k must be >= 1, got {k}")


class _RankedRows:
    """Top-k ids and probabilities of score blocks, padded with -1 / NaN."""

    def __init__(self, rows: int, k: int) -> None:
        self.k = k
        self.ids = np.full((rows, k), -1, dtype=np.int64)
        self.scores = np.full((rows, k), np.nan, dtype=np.float32)

    def fill(
        self,
        start: int,
        block: np.ndarray,
        rated: tuple[np.ndarray, np.ndarray] | None,
        allowed: np.ndarray | None,
        movies: IdMap,
        to_prob: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        """Rank one ``(rows, num_movies)`` block of raw scores into rows ``start…``."""
        if rated is not None:
            block[rated] = -np.inf
        if allowed is not None:
            block[:, ~allowed] = -np.inf
        k_eff = min(self.k, block.shape[1])
        top = np.argpartition(-block, k_eff - 1, axis=1)[:, :k_eff]
        top_scores = np.take_along_axis(block, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top, top_scores = np.take_along_axis(top, order, 1), np.take_along_axis(top_scores, order, 1)
        valid = np.isfinite(top_scores)
        rows = slice(start, start + block.shape[0])
        self.ids[rows, :k_eff] = np.where(valid, movies.raw(top), -1)
        self.scores[rows, :k_eff] = np.where(valid, to_prob(top_scores), np.nan)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """float32 logistic, without overflow warnings for large |x| (one ufunc call)."""
    out: np.ndarray = expit(x.astype(np.float32, copy=False))
    return out


def _rated_csr(edge_index: np.ndarray, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, movie indices) of each user's rated movies."""
    order = np.argsort(edge_index[0], kind="stable")
    counts = np.bincount(edge_index[0], minlength=n_users)
    return np.concatenate([[0], np.cumsum(counts)]), edge_index[1][order]


def _rated_cells(csr: tuple[np.ndarray, np.ndarray], users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    indptr, cols = csr
    lengths = indptr[users + 1] - indptr[users]
    rows = np.repeat(np.arange(users.size), lengths)
    starts = np.repeat(indptr[users], lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return rows, cols[starts + offsets]


__all__ = ["Recommendations", "Scorer", "UnknownIdsError"]
