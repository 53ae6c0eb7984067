"""Option sets as Enums, coerced and validated at the boundary."""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar

from reelgraph.errors import InvalidOptionError

E = TypeVar("E", bound=Enum)


def coerce(enum: type[E], value: object, what: str) -> E:
    """Return ``value`` as a member of ``enum`` or raise naming the bad value.

    Accepts a member, its value, or its name in any case.
    """
    if isinstance(value, enum):
        return value
    for member in enum:
        if value == member.value or (
            isinstance(value, str) and value.lower() in (str(member.value).lower(), member.name.lower())
        ):
            return member
    allowed = ", ".join(str(m.value) for m in enum)
    raise InvalidOptionError(f"invalid {what} {value!r}; expected one of: {allowed}")


class ModelKind(StrEnum):
    """The models the trainer builds and a bundle can hold."""

    LINK = "link"
    RATING = "rating"
    MOVIE_GCN = "movie-gcn"
    RANKING = "ranking"
    CONTENT = "content"


class DeviceChoice(StrEnum):
    """Where to run tensors: ``auto`` picks CUDA when present."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class Layout(StrEnum):
    """MovieLens on-disk layouts, detected from the files present."""

    CSV = "csv"  # ml-latest(-small), ml-20m/25m/32m: ratings.csv + movies.csv
    ML100K = "ml-100k"  # u.data + u.item (+ u.genre, u.user, uN.base/test)
    DAT = "dat"  # ml-1m / ml-10m: ratings.dat + movies.dat, '::'-separated


class EventLoop(StrEnum):
    """The asyncio event loop a server process runs on: ``auto`` takes uvloop when installed."""

    AUTO = "auto"
    ASYNCIO = "asyncio"
    UVLOOP = "uvloop"
