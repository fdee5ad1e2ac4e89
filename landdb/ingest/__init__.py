"""Batch ingestion: ``landdb import KIND PATH...`` (see :mod:`landdb.ingest.engine`)."""

from .engine import FileReport, ImportResult, import_with, run_import
from .kinds import KINDS

__all__ = ["KINDS", "FileReport", "ImportResult", "import_with", "run_import"]
