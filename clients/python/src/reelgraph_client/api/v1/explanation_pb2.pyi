from reelgraph_client.api.v1 import scoring_pb2 as _scoring_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExplainMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPLAIN_METHOD_UNSPECIFIED: _ClassVar[ExplainMethod]
    EXPLAIN_METHOD_INTEGRATED_GRADIENTS: _ClassVar[ExplainMethod]
    EXPLAIN_METHOD_SALIENCY: _ClassVar[ExplainMethod]
    EXPLAIN_METHOD_INPUT_X_GRADIENT: _ClassVar[ExplainMethod]
    EXPLAIN_METHOD_GUIDED_BACKPROP: _ClassVar[ExplainMethod]
    EXPLAIN_METHOD_DECONVOLUTION: _ClassVar[ExplainMethod]
    EXPLAIN_METHOD_RANKING: _ClassVar[ExplainMethod]

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_QUEUED: _ClassVar[JobStatus]
    JOB_STATUS_STARTED: _ClassVar[JobStatus]
    JOB_STATUS_DONE: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELLED: _ClassVar[JobStatus]
EXPLAIN_METHOD_UNSPECIFIED: ExplainMethod
EXPLAIN_METHOD_INTEGRATED_GRADIENTS: ExplainMethod
EXPLAIN_METHOD_SALIENCY: ExplainMethod
EXPLAIN_METHOD_INPUT_X_GRADIENT: ExplainMethod
EXPLAIN_METHOD_GUIDED_BACKPROP: ExplainMethod
EXPLAIN_METHOD_DECONVOLUTION: ExplainMethod
EXPLAIN_METHOD_RANKING: ExplainMethod
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_STARTED: JobStatus
JOB_STATUS_DONE: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELLED: JobStatus

class SubmitExplanationRequest(_message.Message):
    __slots__ = ("model", "user_id", "movie_id", "method", "n_steps", "top_k", "want_plots", "offset", "global_scope", "kind", "history")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    MOVIE_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    N_STEPS_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    WANT_PLOTS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_SCOPE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    model: _scoring_pb2.ModelRef
    user_id: int
    movie_id: int
    method: ExplainMethod
    n_steps: int
    top_k: int
    want_plots: bool
    offset: int
    global_scope: GlobalScope
    kind: _scoring_pb2.ScoreKind
    history: _scoring_pb2.RatingHistory
    def __init__(self, model: _Optional[_Union[_scoring_pb2.ModelRef, _Mapping]] = ..., user_id: _Optional[int] = ..., movie_id: _Optional[int] = ..., method: _Optional[_Union[ExplainMethod, str]] = ..., n_steps: _Optional[int] = ..., top_k: _Optional[int] = ..., want_plots: bool = ..., offset: _Optional[int] = ..., global_scope: _Optional[_Union[GlobalScope, _Mapping]] = ..., kind: _Optional[_Union[_scoring_pb2.ScoreKind, str]] = ..., history: _Optional[_Union[_scoring_pb2.RatingHistory, _Mapping]] = ...) -> None: ...

class GlobalScope(_message.Message):
    __slots__ = ("user_ids", "sample_users", "recommendations", "genre")
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_USERS_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    GENRE_FIELD_NUMBER: _ClassVar[int]
    user_ids: _containers.RepeatedScalarFieldContainer[int]
    sample_users: int
    recommendations: int
    genre: str
    def __init__(self, user_ids: _Optional[_Iterable[int]] = ..., sample_users: _Optional[int] = ..., recommendations: _Optional[int] = ..., genre: _Optional[str] = ...) -> None: ...

class SubmitExplanationResponse(_message.Message):
    __slots__ = ("job_id", "deduplicated", "status")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DEDUPLICATED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    deduplicated: bool
    status: JobStatus
    def __init__(self, job_id: _Optional[str] = ..., deduplicated: bool = ..., status: _Optional[_Union[JobStatus, str]] = ...) -> None: ...

class WatchExplanationRequest(_message.Message):
    __slots__ = ("job_id", "after_event")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_EVENT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    after_event: str
    def __init__(self, job_id: _Optional[str] = ..., after_event: _Optional[str] = ...) -> None: ...

class WatchExplanationResponse(_message.Message):
    __slots__ = ("event_id", "kind", "fraction", "reason", "result")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    kind: str
    fraction: float
    reason: str
    result: Explanation
    def __init__(self, event_id: _Optional[str] = ..., kind: _Optional[str] = ..., fraction: _Optional[float] = ..., reason: _Optional[str] = ..., result: _Optional[_Union[Explanation, _Mapping]] = ...) -> None: ...

class GetExplanationRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetExplanationResponse(_message.Message):
    __slots__ = ("status", "attempts", "error", "result")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    status: JobStatus
    attempts: int
    error: str
    result: Explanation
    def __init__(self, status: _Optional[_Union[JobStatus, str]] = ..., attempts: _Optional[int] = ..., error: _Optional[str] = ..., result: _Optional[_Union[Explanation, _Mapping]] = ...) -> None: ...

class CancelExplanationRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelExplanationResponse(_message.Message):
    __slots__ = ("cancelled",)
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    cancelled: bool
    def __init__(self, cancelled: bool = ...) -> None: ...

class Influence(_message.Message):
    __slots__ = ("user_id", "movie_id", "title", "score")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    MOVIE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    movie_id: int
    title: str
    score: float
    def __init__(self, user_id: _Optional[int] = ..., movie_id: _Optional[int] = ..., title: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class Explanation(_message.Message):
    __slots__ = ("probability", "logit", "attribution_total", "top_users", "top_movies", "top_ratings", "features", "subgraph", "fidelity_plus", "fidelity_minus", "random_fidelity_plus", "random_fidelity_minus", "seconds", "pngs", "method", "title", "because_you_rated", "because_you_rated_total", "chains", "co_raters", "co_raters_total", "content", "genre_shares", "popularity", "bias", "rated_total", "sentence", "logit_fidelity", "offset", "global_summary", "kind", "rating", "top_users_total", "top_movies_total", "top_ratings_total")
    class FeaturesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class PngsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    class GenreSharesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    LOGIT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOP_USERS_FIELD_NUMBER: _ClassVar[int]
    TOP_MOVIES_FIELD_NUMBER: _ClassVar[int]
    TOP_RATINGS_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    SUBGRAPH_FIELD_NUMBER: _ClassVar[int]
    FIDELITY_PLUS_FIELD_NUMBER: _ClassVar[int]
    FIDELITY_MINUS_FIELD_NUMBER: _ClassVar[int]
    RANDOM_FIDELITY_PLUS_FIELD_NUMBER: _ClassVar[int]
    RANDOM_FIDELITY_MINUS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    PNGS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BECAUSE_YOU_RATED_FIELD_NUMBER: _ClassVar[int]
    BECAUSE_YOU_RATED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    CO_RATERS_FIELD_NUMBER: _ClassVar[int]
    CO_RATERS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    GENRE_SHARES_FIELD_NUMBER: _ClassVar[int]
    POPULARITY_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    RATED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_FIELD_NUMBER: _ClassVar[int]
    LOGIT_FIDELITY_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    TOP_USERS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOP_MOVIES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOP_RATINGS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    probability: float
    logit: float
    attribution_total: float
    top_users: _containers.RepeatedCompositeFieldContainer[Influence]
    top_movies: _containers.RepeatedCompositeFieldContainer[Influence]
    top_ratings: _containers.RepeatedCompositeFieldContainer[Influence]
    features: _containers.ScalarMap[str, float]
    subgraph: _containers.RepeatedCompositeFieldContainer[Influence]
    fidelity_plus: float
    fidelity_minus: float
    random_fidelity_plus: float
    random_fidelity_minus: float
    seconds: float
    pngs: _containers.ScalarMap[str, bytes]
    method: str
    title: str
    because_you_rated: _containers.RepeatedCompositeFieldContainer[RatedMovie]
    because_you_rated_total: int
    chains: _containers.RepeatedCompositeFieldContainer[Chain]
    co_raters: _containers.RepeatedCompositeFieldContainer[CoRater]
    co_raters_total: int
    content: float
    genre_shares: _containers.ScalarMap[str, float]
    popularity: float
    bias: float
    rated_total: float
    sentence: str
    logit_fidelity: LogitFidelity
    offset: int
    global_summary: GlobalSummary
    kind: _scoring_pb2.ScoreKind
    rating: RatingExplanation
    top_users_total: int
    top_movies_total: int
    top_ratings_total: int
    def __init__(self, probability: _Optional[float] = ..., logit: _Optional[float] = ..., attribution_total: _Optional[float] = ..., top_users: _Optional[_Iterable[_Union[Influence, _Mapping]]] = ..., top_movies: _Optional[_Iterable[_Union[Influence, _Mapping]]] = ..., top_ratings: _Optional[_Iterable[_Union[Influence, _Mapping]]] = ..., features: _Optional[_Mapping[str, float]] = ..., subgraph: _Optional[_Iterable[_Union[Influence, _Mapping]]] = ..., fidelity_plus: _Optional[float] = ..., fidelity_minus: _Optional[float] = ..., random_fidelity_plus: _Optional[float] = ..., random_fidelity_minus: _Optional[float] = ..., seconds: _Optional[float] = ..., pngs: _Optional[_Mapping[str, bytes]] = ..., method: _Optional[str] = ..., title: _Optional[str] = ..., because_you_rated: _Optional[_Iterable[_Union[RatedMovie, _Mapping]]] = ..., because_you_rated_total: _Optional[int] = ..., chains: _Optional[_Iterable[_Union[Chain, _Mapping]]] = ..., co_raters: _Optional[_Iterable[_Union[CoRater, _Mapping]]] = ..., co_raters_total: _Optional[int] = ..., content: _Optional[float] = ..., genre_shares: _Optional[_Mapping[str, float]] = ..., popularity: _Optional[float] = ..., bias: _Optional[float] = ..., rated_total: _Optional[float] = ..., sentence: _Optional[str] = ..., logit_fidelity: _Optional[_Union[LogitFidelity, _Mapping]] = ..., offset: _Optional[int] = ..., global_summary: _Optional[_Union[GlobalSummary, _Mapping]] = ..., kind: _Optional[_Union[_scoring_pb2.ScoreKind, str]] = ..., rating: _Optional[_Union[RatingExplanation, _Mapping]] = ..., top_users_total: _Optional[int] = ..., top_movies_total: _Optional[int] = ..., top_ratings_total: _Optional[int] = ...) -> None: ...

class RatingExplanation(_message.Message):
    __slots__ = ("stars", "raw_stars", "lowered_by", "lowered_by_total", "fidelity", "co_raters", "co_raters_mean_stars", "shares_total")
    STARS_FIELD_NUMBER: _ClassVar[int]
    RAW_STARS_FIELD_NUMBER: _ClassVar[int]
    LOWERED_BY_FIELD_NUMBER: _ClassVar[int]
    LOWERED_BY_TOTAL_FIELD_NUMBER: _ClassVar[int]
    FIDELITY_FIELD_NUMBER: _ClassVar[int]
    CO_RATERS_FIELD_NUMBER: _ClassVar[int]
    CO_RATERS_MEAN_STARS_FIELD_NUMBER: _ClassVar[int]
    SHARES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    stars: float
    raw_stars: float
    lowered_by: _containers.RepeatedCompositeFieldContainer[RatedMovie]
    lowered_by_total: int
    fidelity: StarFidelity
    co_raters: int
    co_raters_mean_stars: float
    shares_total: float
    def __init__(self, stars: _Optional[float] = ..., raw_stars: _Optional[float] = ..., lowered_by: _Optional[_Iterable[_Union[RatedMovie, _Mapping]]] = ..., lowered_by_total: _Optional[int] = ..., fidelity: _Optional[_Union[StarFidelity, _Mapping]] = ..., co_raters: _Optional[int] = ..., co_raters_mean_stars: _Optional[float] = ..., shares_total: _Optional[float] = ...) -> None: ...

class StarFidelity(_message.Message):
    __slots__ = ("k", "full_stars", "deletion_drop", "random_drop", "random_draws", "sufficiency")
    K_FIELD_NUMBER: _ClassVar[int]
    FULL_STARS_FIELD_NUMBER: _ClassVar[int]
    DELETION_DROP_FIELD_NUMBER: _ClassVar[int]
    RANDOM_DROP_FIELD_NUMBER: _ClassVar[int]
    RANDOM_DRAWS_FIELD_NUMBER: _ClassVar[int]
    SUFFICIENCY_FIELD_NUMBER: _ClassVar[int]
    k: int
    full_stars: float
    deletion_drop: float
    random_drop: float
    random_draws: int
    sufficiency: float
    def __init__(self, k: _Optional[int] = ..., full_stars: _Optional[float] = ..., deletion_drop: _Optional[float] = ..., random_drop: _Optional[float] = ..., random_draws: _Optional[int] = ..., sufficiency: _Optional[float] = ...) -> None: ...

class GlobalSummary(_message.Message):
    __slots__ = ("users", "pairs", "movies", "genres", "years", "recommended_genres", "mean_rated", "mean_popularity", "mean_bias", "mean_deletion_drop", "mean_random_drop", "co_rater_groups")
    USERS_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    MOVIES_FIELD_NUMBER: _ClassVar[int]
    GENRES_FIELD_NUMBER: _ClassVar[int]
    YEARS_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_GENRES_FIELD_NUMBER: _ClassVar[int]
    MEAN_RATED_FIELD_NUMBER: _ClassVar[int]
    MEAN_POPULARITY_FIELD_NUMBER: _ClassVar[int]
    MEAN_BIAS_FIELD_NUMBER: _ClassVar[int]
    MEAN_DELETION_DROP_FIELD_NUMBER: _ClassVar[int]
    MEAN_RANDOM_DROP_FIELD_NUMBER: _ClassVar[int]
    CO_RATER_GROUPS_FIELD_NUMBER: _ClassVar[int]
    users: int
    pairs: int
    movies: _containers.RepeatedCompositeFieldContainer[Driver]
    genres: _containers.RepeatedCompositeFieldContainer[Driver]
    years: _containers.RepeatedCompositeFieldContainer[Driver]
    recommended_genres: _containers.RepeatedCompositeFieldContainer[Driver]
    mean_rated: float
    mean_popularity: float
    mean_bias: float
    mean_deletion_drop: float
    mean_random_drop: float
    co_rater_groups: _containers.RepeatedCompositeFieldContainer[Driver]
    def __init__(self, users: _Optional[int] = ..., pairs: _Optional[int] = ..., movies: _Optional[_Iterable[_Union[Driver, _Mapping]]] = ..., genres: _Optional[_Iterable[_Union[Driver, _Mapping]]] = ..., years: _Optional[_Iterable[_Union[Driver, _Mapping]]] = ..., recommended_genres: _Optional[_Iterable[_Union[Driver, _Mapping]]] = ..., mean_rated: _Optional[float] = ..., mean_popularity: _Optional[float] = ..., mean_bias: _Optional[float] = ..., mean_deletion_drop: _Optional[float] = ..., mean_random_drop: _Optional[float] = ..., co_rater_groups: _Optional[_Iterable[_Union[Driver, _Mapping]]] = ...) -> None: ...

class Driver(_message.Message):
    __slots__ = ("name", "movie_id", "share", "count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MOVIE_ID_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    movie_id: int
    share: float
    count: int
    def __init__(self, name: _Optional[str] = ..., movie_id: _Optional[int] = ..., share: _Optional[float] = ..., count: _Optional[int] = ...) -> None: ...

class RatedMovie(_message.Message):
    __slots__ = ("movie_id", "title", "stars", "score")
    MOVIE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    STARS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    movie_id: int
    title: str
    stars: float
    score: float
    def __init__(self, movie_id: _Optional[int] = ..., title: _Optional[str] = ..., stars: _Optional[float] = ..., score: _Optional[float] = ...) -> None: ...

class Chain(_message.Message):
    __slots__ = ("movie_id", "title", "stars", "input_weight", "edge_weight", "score", "co_raters", "co_raters_mean_stars")
    MOVIE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    STARS_FIELD_NUMBER: _ClassVar[int]
    INPUT_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    EDGE_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CO_RATERS_FIELD_NUMBER: _ClassVar[int]
    CO_RATERS_MEAN_STARS_FIELD_NUMBER: _ClassVar[int]
    movie_id: int
    title: str
    stars: float
    input_weight: float
    edge_weight: float
    score: float
    co_raters: int
    co_raters_mean_stars: float
    def __init__(self, movie_id: _Optional[int] = ..., title: _Optional[str] = ..., stars: _Optional[float] = ..., input_weight: _Optional[float] = ..., edge_weight: _Optional[float] = ..., score: _Optional[float] = ..., co_raters: _Optional[int] = ..., co_raters_mean_stars: _Optional[float] = ...) -> None: ...

class CoRater(_message.Message):
    __slots__ = ("user_id", "movie_ids", "target_stars", "score")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    MOVIE_IDS_FIELD_NUMBER: _ClassVar[int]
    TARGET_STARS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    movie_ids: _containers.RepeatedScalarFieldContainer[int]
    target_stars: float
    score: float
    def __init__(self, user_id: _Optional[int] = ..., movie_ids: _Optional[_Iterable[int]] = ..., target_stars: _Optional[float] = ..., score: _Optional[float] = ...) -> None: ...

class LogitFidelity(_message.Message):
    __slots__ = ("k", "full_logit", "deletion_drop", "random_drop", "random_draws", "sufficiency")
    K_FIELD_NUMBER: _ClassVar[int]
    FULL_LOGIT_FIELD_NUMBER: _ClassVar[int]
    DELETION_DROP_FIELD_NUMBER: _ClassVar[int]
    RANDOM_DROP_FIELD_NUMBER: _ClassVar[int]
    RANDOM_DRAWS_FIELD_NUMBER: _ClassVar[int]
    SUFFICIENCY_FIELD_NUMBER: _ClassVar[int]
    k: int
    full_logit: float
    deletion_drop: float
    random_drop: float
    random_draws: int
    sufficiency: float
    def __init__(self, k: _Optional[int] = ..., full_logit: _Optional[float] = ..., deletion_drop: _Optional[float] = ..., random_drop: _Optional[float] = ..., random_draws: _Optional[int] = ..., sufficiency: _Optional[float] = ...) -> None: ...

class ExplainBatchRequest(_message.Message):
    __slots__ = ("options", "user_ids", "movie_ids")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    MOVIE_IDS_FIELD_NUMBER: _ClassVar[int]
    options: SubmitExplanationRequest
    user_ids: _containers.RepeatedScalarFieldContainer[int]
    movie_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, options: _Optional[_Union[SubmitExplanationRequest, _Mapping]] = ..., user_ids: _Optional[_Iterable[int]] = ..., movie_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class ExplainBatchResponse(_message.Message):
    __slots__ = ("index", "job_id", "kind", "reason", "result")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    index: int
    job_id: str
    kind: str
    reason: str
    result: Explanation
    def __init__(self, index: _Optional[int] = ..., job_id: _Optional[str] = ..., kind: _Optional[str] = ..., reason: _Optional[str] = ..., result: _Optional[_Union[Explanation, _Mapping]] = ...) -> None: ...
