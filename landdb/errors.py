"""Errors that reach the user as a one-line message (in Chinese, English in brackets)."""

from __future__ import annotations


class LanddbError(Exception):
    """An error with a message fit to show a user; the CLI prints it and exits non-zero."""

    exit_code = 1


class ConfigError(LanddbError):
    """Connection settings or the embedded cluster are not usable."""


class SchemaError(LanddbError):
    """The database schema is missing, outdated, or its migrations were tampered with."""
