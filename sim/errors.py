"""Errors a user can cause and fix; the CLI turns them into one line and exit status 2."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ResultsExistError", "ScenarioError", "TicketLogError", "UsageError"]


class ScenarioError(Exception):
    """A scenario that cannot be used; str() is one line: file: field: what is wrong."""

    def __init__(self, file: str | Path, field: str, message: str):
        self.file, self.field, self.message = str(file), field, message
        where = f"{self.file}: {field}" if field else self.file
        super().__init__(f"{where}: {message}")


class ResultsExistError(Exception):
    """The destination holds earlier results and overwriting was not asked for."""


class TicketLogError(Exception):
    """A ticket log that cannot be read; str() is one line: file: column: what is wrong."""

    def __init__(self, file: str | Path, column: str, message: str):
        self.file, self.column, self.message = str(file), column, message
        where = f"{self.file}: {column}" if column else self.file
        super().__init__(f"{where}: {message}")


class UsageError(Exception):
    """Command-line arguments that cannot work together."""
