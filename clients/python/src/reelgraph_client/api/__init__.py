"""Generated gRPC API (do not edit; run protos/generate.sh)."""
