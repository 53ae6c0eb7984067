"""gRPC server (grpc.aio) over model bundles — issue 3."""
