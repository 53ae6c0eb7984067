from reelgraph_client.api.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScoreKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCORE_KIND_UNSPECIFIED: _ClassVar[ScoreKind]
    SCORE_KIND_LINK_PROBABILITY: _ClassVar[ScoreKind]
    SCORE_KIND_RATING: _ClassVar[ScoreKind]

class PairStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAIR_STATUS_UNSPECIFIED: _ClassVar[PairStatus]
    PAIR_STATUS_UNKNOWN_USER: _ClassVar[PairStatus]
    PAIR_STATUS_UNKNOWN_MOVIE: _ClassVar[PairStatus]
    PAIR_STATUS_UNKNOWN_BOTH: _ClassVar[PairStatus]
SCORE_KIND_UNSPECIFIED: ScoreKind
SCORE_KIND_LINK_PROBABILITY: ScoreKind
SCORE_KIND_RATING: ScoreKind
PAIR_STATUS_UNSPECIFIED: PairStatus
PAIR_STATUS_UNKNOWN_USER: PairStatus
PAIR_STATUS_UNKNOWN_MOVIE: PairStatus
PAIR_STATUS_UNKNOWN_BOTH: PairStatus

class ModelRef(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class RatingHistory(_message.Message):
    __slots__ = ("movie_ids", "stars", "timestamps")
    MOVIE_IDS_FIELD_NUMBER: _ClassVar[int]
    STARS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    movie_ids: _tensor_pb2.Tensor
    stars: _tensor_pb2.Tensor
    timestamps: _tensor_pb2.Tensor
    def __init__(self, movie_ids: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., stars: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., timestamps: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ...) -> None: ...

class ScorePairsRequest(_message.Message):
    __slots__ = ("model", "user_ids", "movie_ids", "kinds", "history", "movie")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    MOVIE_IDS_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    MOVIE_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    user_ids: _tensor_pb2.Tensor
    movie_ids: _tensor_pb2.Tensor
    kinds: _containers.RepeatedScalarFieldContainer[ScoreKind]
    history: RatingHistory
    movie: ContentMovie
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ..., user_ids: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., movie_ids: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., kinds: _Optional[_Iterable[_Union[ScoreKind, str]]] = ..., history: _Optional[_Union[RatingHistory, _Mapping]] = ..., movie: _Optional[_Union[ContentMovie, _Mapping]] = ...) -> None: ...

class ContentMovie(_message.Message):
    __slots__ = ("title", "genres", "year", "tags")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    GENRES_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    title: str
    genres: _containers.RepeatedScalarFieldContainer[str]
    year: int
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, title: _Optional[str] = ..., genres: _Optional[_Iterable[str]] = ..., year: _Optional[int] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class ScorePairsResponse(_message.Message):
    __slots__ = ("model", "link_probability", "rating", "status", "invalid_count")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    LINK_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INVALID_COUNT_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    link_probability: _tensor_pb2.Tensor
    rating: _tensor_pb2.Tensor
    status: _tensor_pb2.Tensor
    invalid_count: int
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ..., link_probability: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., rating: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., status: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., invalid_count: _Optional[int] = ...) -> None: ...

class StreamScorePairsRequest(_message.Message):
    __slots__ = ("batch",)
    BATCH_FIELD_NUMBER: _ClassVar[int]
    batch: ScorePairsRequest
    def __init__(self, batch: _Optional[_Union[ScorePairsRequest, _Mapping]] = ...) -> None: ...

class StreamScorePairsResponse(_message.Message):
    __slots__ = ("chunk_index", "result")
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    chunk_index: int
    result: ScorePairsResponse
    def __init__(self, chunk_index: _Optional[int] = ..., result: _Optional[_Union[ScorePairsResponse, _Mapping]] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("model", "user_ids", "k", "include_rated", "genres", "history")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RATED_FIELD_NUMBER: _ClassVar[int]
    GENRES_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    user_ids: _containers.RepeatedScalarFieldContainer[int]
    k: int
    include_rated: bool
    genres: _containers.RepeatedScalarFieldContainer[str]
    history: RatingHistory
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ..., user_ids: _Optional[_Iterable[int]] = ..., k: _Optional[int] = ..., include_rated: bool = ..., genres: _Optional[_Iterable[str]] = ..., history: _Optional[_Union[RatingHistory, _Mapping]] = ...) -> None: ...

class RecommendedMovie(_message.Message):
    __slots__ = ("movie_id", "title", "score")
    MOVIE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    movie_id: int
    title: str
    score: float
    def __init__(self, movie_id: _Optional[int] = ..., title: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class RecommendResponse(_message.Message):
    __slots__ = ("user_id", "movies", "error")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    MOVIES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    movies: _containers.RepeatedCompositeFieldContainer[RecommendedMovie]
    error: str
    def __init__(self, user_id: _Optional[int] = ..., movies: _Optional[_Iterable[_Union[RecommendedMovie, _Mapping]]] = ..., error: _Optional[str] = ...) -> None: ...

class AudienceRequest(_message.Message):
    __slots__ = ("model", "movie", "k")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MOVIE_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    movie: ContentMovie
    k: int
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ..., movie: _Optional[_Union[ContentMovie, _Mapping]] = ..., k: _Optional[int] = ...) -> None: ...

class AudienceMember(_message.Message):
    __slots__ = ("user_id", "score")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    score: float
    def __init__(self, user_id: _Optional[int] = ..., score: _Optional[float] = ...) -> None: ...

class AudienceResponse(_message.Message):
    __slots__ = ("model", "users")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    users: _containers.RepeatedCompositeFieldContainer[AudienceMember]
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ..., users: _Optional[_Iterable[_Union[AudienceMember, _Mapping]]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: ModelRef
    def __init__(self, model: _Optional[_Union[ModelRef, _Mapping]] = ...) -> None: ...

class GetModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: ModelInfo
    def __init__(self, model: _Optional[_Union[ModelInfo, _Mapping]] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("ref", "created_at", "kinds", "metrics", "num_users", "num_movies", "num_ratings", "genre_names", "manifest_json")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    NUM_USERS_FIELD_NUMBER: _ClassVar[int]
    NUM_MOVIES_FIELD_NUMBER: _ClassVar[int]
    NUM_RATINGS_FIELD_NUMBER: _ClassVar[int]
    GENRE_NAMES_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_JSON_FIELD_NUMBER: _ClassVar[int]
    ref: ModelRef
    created_at: str
    kinds: _containers.RepeatedScalarFieldContainer[str]
    metrics: _containers.ScalarMap[str, float]
    num_users: int
    num_movies: int
    num_ratings: int
    genre_names: _containers.RepeatedScalarFieldContainer[str]
    manifest_json: str
    def __init__(self, ref: _Optional[_Union[ModelRef, _Mapping]] = ..., created_at: _Optional[str] = ..., kinds: _Optional[_Iterable[str]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., num_users: _Optional[int] = ..., num_movies: _Optional[int] = ..., num_ratings: _Optional[int] = ..., genre_names: _Optional[_Iterable[str]] = ..., manifest_json: _Optional[str] = ...) -> None: ...
