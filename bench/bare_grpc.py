"""The framework's own ceiling: a grpc.aio server that answers one method with
canned bytes (no parsing, no model, no metrics). ``bench.scoring`` drives it
with the same h2load load as the real server, so the gap between the two is
what reelgraph itself costs per call.

Run: ``python -m bench.bare_grpc RESPONSE_FILE [--event-loop uvloop|asyncio]``;
prints the port, serves until killed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import grpc

from reelgraph.options import EventLoop, coerce
from server import eventloop


async def _serve(service: str, method: str, response: bytes) -> None:
    async def answer(_request: bytes, _context: Any) -> bytes:
        return response

    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(answer)  # no (de)serializers: bytes in, bytes out
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {method: handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


def main(argv: list[str] | None = None) -> int:
    """Serve ``reelgraph.v1.ScoringService/ScorePairs`` with the bytes of RESPONSE_FILE."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("response", type=Path, help="serialised response message")
    parser.add_argument("--event-loop", default="uvloop", help="uvloop or asyncio")
    args = parser.parse_args(argv)
    loop = coerce(EventLoop, args.event_loop, "--event-loop")
    eventloop.run(_serve("reelgraph.v1.ScoringService", "ScorePairs", args.response.read_bytes()), loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
