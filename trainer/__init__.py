"""The trainer: MovieLens → graphs → GNNs → verified model bundles."""
