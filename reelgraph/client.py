"""The client SDK, re-exported from the ``reelgraph-client`` distribution (one implementation).

Services that only call reelgraph install ``clients/python`` (grpcio, protobuf, numpy) and
import ``reelgraph_client``; this name keeps ``from reelgraph.client import Client`` working.
"""

from reelgraph_client.client import Audience, Client, PairScores, StreamTimeoutError
from reelgraph_client.recommendations import UserRecommendations

__all__ = ["Audience", "Client", "PairScores", "StreamTimeoutError", "UserRecommendations"]
