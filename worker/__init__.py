"""Explanation workers consuming the Redis job stream."""
