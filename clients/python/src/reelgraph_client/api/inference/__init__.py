"""inference (Open Inference Protocol) messages and stubs, generated from protos/inference."""
