"""Run the server's main coroutine on the configured asyncio event loop.

uvloop (libuv) runs asyncio's own callbacks in C. grpc.aio schedules many of
them per unary RPC, so uvloop cuts the server's CPU per call (``python -m
bench.scoring`` measures both loops in one run; the README has the figures).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Coroutine
from typing import Any, TypeVar

from reelgraph.errors import InvalidOptionError
from reelgraph.options import EventLoop

T = TypeVar("T")


def resolve(choice: EventLoop) -> EventLoop:
    """``auto`` → uvloop when importable, else asyncio; ``uvloop`` must be installed."""
    available = importlib.util.find_spec("uvloop") is not None
    if choice is EventLoop.UVLOOP and not available:
        raise InvalidOptionError("event loop 'uvloop' is not installed (pip install uvloop; not on Windows)")
    if choice is EventLoop.AUTO:
        return EventLoop.UVLOOP if available else EventLoop.ASYNCIO
    return choice


def run(main: Coroutine[Any, Any, T], choice: EventLoop = EventLoop.AUTO) -> T:
    """``asyncio.run(main)`` on the loop ``choice`` resolves to."""
    if resolve(choice) is EventLoop.UVLOOP:
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
