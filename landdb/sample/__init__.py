"""The fictitious sample county (示范县) and its answer key: ``landdb sample``."""

from __future__ import annotations

from .build import generate
from .planted import RULES

__all__ = ["RULES", "generate"]
