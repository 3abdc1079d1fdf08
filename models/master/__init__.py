"""The master strategy: go-bitswap v0.1.8 – v0.1.11 (want-block / block / cancel only)."""

__all__ = []
