"""Bitswap models: wire messages and sizes, content DAGs, blockstore, engine, client strategies."""

__all__ = []
