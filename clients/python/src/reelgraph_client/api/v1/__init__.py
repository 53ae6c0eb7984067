"""reelgraph.v1 messages and stubs, generated from protos/reelgraph/v1."""
