"""Training hyper-parameters per model kind, with measured defaults."""

from __future__ import annotations

from dataclasses import dataclass

from reelgraph.configs import DictForm


@dataclass(frozen=True)
class LinkHyper(DictForm):
    """Link model training (E1 protocol splits; see README).

    Attributes:
        epochs: maximum epochs (default 40); patience: early-stopping epochs (5).
        lr: Adam learning rate (1e-3); hidden: embedding width (64).
        batch_size: positive supervision edges per step (2048).
        negatives: random (user, movie) negatives per positive (1).
        supervision_fraction: share of training edges held out of message
            passing as supervision, redrawn every epoch (0.3, as seed 004).
        sampling: ``auto`` | ``full`` | ``neighbor`` (``LinkNeighborLoader``;
            needs torch-sparse). ``auto`` samples only above 5 M edges.
        num_neighbors: neighbours sampled per hop when sampling ((10, 5)).
    """

    epochs: int = 40
    patience: int = 5
    lr: float = 1e-3
    hidden: int = 64
    batch_size: int = 2048
    negatives: int = 1
    supervision_fraction: float = 0.3
    sampling: str = "auto"
    num_neighbors: tuple[int, ...] = (10, 5)


@dataclass(frozen=True)
class RatingHyper(DictForm):
    """Rating model training.

    Attributes:
        epochs (80), patience (8), lr (3e-3), hidden (64), batch_size (1024
        ratings per step), supervision_fraction (0.3: ratings whose stars are
        predicted, the rest pass messages; redrawn every epoch so a rating never
        feeds its own prediction), val_fraction (0.05 of training ratings kept
        for early stopping), test_fraction (0.1 when no test file is given).
        autoencoder_hidden: width of the item-autoencoder term (500; 0 leaves
            the GNN alone), autoencoder_l2 (its weight penalty ρ, 100),
            autoencoder_epochs (at most 100; stops 10 epochs after the best on
            validation, which is kept),
            autoencoder_lr (1e-3).
    """

    epochs: int = 80
    patience: int = 8
    lr: float = 3e-3
    hidden: int = 64
    batch_size: int = 1024
    supervision_fraction: float = 0.3
    val_fraction: float = 0.05
    test_fraction: float = 0.1
    autoencoder_hidden: int = 500
    autoencoder_l2: float = 100.0
    autoencoder_epochs: int = 100
    autoencoder_lr: float = 1e-3


@dataclass(frozen=True)
class MovieGCNHyper(DictForm):
    """Movie GCN training (E4 protocol: 80/20 split of rated movies).

    Attributes:
        epochs (400 full-graph steps), patience (30), lr (0.01), weight_decay
        (5e-4), hidden (64), dropout (0.2), top_k (20 co-rating neighbours per
        movie), test_fraction (0.2), val_fraction (0.1 of the rest).
    """

    epochs: int = 400
    patience: int = 30
    lr: float = 0.01
    weight_decay: float = 5e-4
    hidden: int = 64
    dropout: float = 0.2
    top_k: int = 20
    test_fraction: float = 0.2
    val_fraction: float = 0.1


@dataclass(frozen=True)
class RankingHyper(DictForm):
    """Ranking model fitting (closed form; selection on a validation split).

    Attributes:
        ridge: candidate ``λ`` of the co-rating ridge regression ((50, 100, 200, 300, 500));
            each costs one Cholesky inverse of the movie Gram matrix per session share.
        session_gap: seconds of pause after which a user's next rating starts a
            new session (300).
        session_share: candidate shares ``s`` of the Gram matrix taken from
            co-ratings within one session, the rest from whole histories
            ((0, 0.5, 0.75); 0 is EASE's Gram matrix).
        star_slope: candidate ``γ`` of the input weight ``1 + γ·(r − r̄_u)`` ((0, 0.1, 0.2)).
        popularity: candidate ``π`` of the ``log(1 + count)`` prior ((−0.01, −0.002, 0, 0.002, 0.01));
            negative values penalise popular movies.
        min_ratings: movies need this many ratings to get co-rating weights (2);
            the rest are ranked by the popularity prior only.
        max_movies: at most this many most-rated movies get weights (20000;
            bounds the ``max_movies²`` float32 matrices, 1.6 GB each at the cap:
            the mixed Gram matrix and at most two more while ``B`` is solved).
        edges_per_movie: candidate budgets of stored co-rating edges, on average
            per eligible movie, kept by one global magnitude threshold ((256, 512, 1024)).
        val_fraction: ratings held out for selection and calibration (0.1).
        k: cut-off of the selection metric Recall@k (20).
    """

    ridge: tuple[float, ...] = (50.0, 100.0, 200.0, 300.0, 500.0)
    session_gap: float = 300.0
    session_share: tuple[float, ...] = (0.0, 0.5, 0.75)
    star_slope: tuple[float, ...] = (0.0, 0.1, 0.2)
    popularity: tuple[float, ...] = (-0.01, -0.002, 0.0, 0.002, 0.01)
    min_ratings: int = 2
    max_movies: int = 20000
    edges_per_movie: tuple[int, ...] = (256, 512, 1024)
    val_fraction: float = 0.1
    k: int = 20

    def __post_init__(self) -> None:
        """A session share outside 0..1 or a negative session gap is a ``ValueError`` that names it."""
        bad = [s for s in self.session_share if not 0.0 <= s <= 1.0]
        if bad:
            raise ValueError(f"ranking session_share must lie within 0..1, got {bad[0]:g}")
        if not self.session_gap >= 0:  # also rejects NaN
            raise ValueError(f"ranking session_gap must be ≥ 0 seconds, got {self.session_gap:g}")


@dataclass(frozen=True)
class ContentHyper(DictForm):
    """Content model fitting (closed form; selection on held-out movies of the training data).

    Attributes:
        ridge: candidate ``λ`` of the content → raters ridge ((30, 100, 300, 1000)).
        year_weight: candidate year block scales ((1, 2, 4, 8)).
        genre_weight: candidate genre block scales ((0.25, 0.5, 1, 2)).
        title_weight: candidate title block scales ((0, 0.5, 1, 2)).
        tag_weight: candidate tag block scales ((0, 1, 2, 4)).
        activity: candidate ``β`` of ``log(1 + n_u)`` ((0, 0.002, 0.01)).
        rank: stored rank ``r`` of the link weights (64; bounds the stored size,
            see ``reelgraph.models.content``).
        mean_ridge: candidate ``λ`` of the movie-mean ridge ((1, 3, 10, 30, 100,
            300, 1e9: genre base only)).
        star_ridge: candidate ``λ`` of the stars' movie term ((100, 300, 1000,
            3000, 1e9: genre base only)).
        min_ratings: candidate least rating counts of the movies the movie-mean
            and star ridges learn from, each chosen apart ((1, 5, 10, 20)).
        user_ridge: candidate ``λ`` of the per-user star ridge ((10, 30, 100, 1e9: off)).
        title_dim, tag_dim: hashed word buckets (256 each).
        val_fraction: movies (with ≥ ``val_min_ratings`` = 10 ratings) held out for
            selection and calibration (0.2, at most ``max_val_movies`` = 400).
        max_val_users: users the link search and calibration score (a seeded
            sample when there are more; 20000).
    """

    ridge: tuple[float, ...] = (30.0, 100.0, 300.0, 1000.0)
    year_weight: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    genre_weight: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
    title_weight: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)
    tag_weight: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0)
    activity: tuple[float, ...] = (0.0, 0.002, 0.01)
    rank: int = 64
    mean_ridge: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e9)
    star_ridge: tuple[float, ...] = (100.0, 300.0, 1000.0, 3000.0, 1e9)
    min_ratings: tuple[int, ...] = (1, 5, 10, 20)
    user_ridge: tuple[float, ...] = (10.0, 30.0, 100.0, 1e9)
    title_dim: int = 256
    tag_dim: int = 256
    val_fraction: float = 0.2
    val_min_ratings: int = 10
    max_val_movies: int = 400
    max_val_users: int = 20000
