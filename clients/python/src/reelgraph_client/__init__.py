"""reelgraph's Python client: the reelgraph.v1 gRPC API with numpy in and out.

Needs only grpcio, protobuf and numpy (no torch), so any service can install it::

    from reelgraph_client import Client

    with Client("127.0.0.1:50051") as client:
        scores = client.score_pairs(np.array([1, 2]), np.array([1, 50]), kinds=("link", "rating"))

``reelgraph_client.api`` holds the generated stubs (reelgraph.v1 and the Open Inference
Protocol), ``reelgraph_client.tensors`` the columnar tensor codec both sides use.
"""

from reelgraph_client.client import Audience, Client, PairScores, StreamTimeoutError
from reelgraph_client.errors import FieldViolation, InvalidRequestError, ReelgraphError
from reelgraph_client.recommendations import UserRecommendations

__all__ = [
    "Audience",
    "Client",
    "FieldViolation",
    "InvalidRequestError",
    "PairScores",
    "ReelgraphError",
    "StreamTimeoutError",
    "UserRecommendations",
]
__version__ = "0.1.0"
