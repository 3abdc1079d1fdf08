"""Baselines that are not Bitswap: what the strategies are compared with.

:mod:`.registry` is the container-registry pull (DockerHub through a CDN edge) of the headline
comparison.
"""

__all__ = []
