"""gRPC server (grpc.aio) over model bundles."""
