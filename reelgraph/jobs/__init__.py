"""The explanation job contract shared by the server and the workers (Redis Streams)."""
