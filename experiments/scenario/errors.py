"""The one error a scenario file can raise."""

from __future__ import annotations

__all__ = ["ScenarioError"]


class ScenarioError(ValueError):
    """Bad scenario input; the message names the file, the field and what is allowed."""
