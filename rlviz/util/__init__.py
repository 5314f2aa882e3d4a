"""Plumbing every stage uses: the one error type, the on-disk grid store, heap trimming."""
