"""Explanation workers consuming the Redis job stream — issue 4."""
