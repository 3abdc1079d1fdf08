"""The poc strategy: go-bitswap v0.2.0 (WANT_HAVE / HAVE / DONT_HAVE)."""

__all__ = []
