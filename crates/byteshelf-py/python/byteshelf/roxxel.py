"""Roxxel datasets: ``from byteshelf.roxxel import Roxxel`` in place of ``from roxxel import Roxxel``."""

from ._native import Roxxel, RoxxelError

__all__ = ["Roxxel", "RoxxelError"]
