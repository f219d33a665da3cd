"""One error type for the whole pipeline: a problem found in the input, with its location.

The library never prints and never exits; it collects `Problem` values and raises a single
`BuildError` carrying all of them. Only `cli.py` renders them (see `Problem.render`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class SourceLocation(NamedTuple):
    """A place in an input file; line and column are 1-based, as editors show them. (A named
    tuple: the loader makes one for every record and reference, and a tuple is made fastest.)"""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input. `severity` is 'error' or 'warning'."""

    location: SourceLocation
    message: str
    severity: str = "error"
    hint: str | None = field(default=None, compare=False)

    def render(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class DiplokbError(Exception):
    """Base class of every error the library raises."""


class BuildError(DiplokbError):
    """The KB could not be built; `problems` lists every problem found, sorted by location."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the knowledge base")

    def render(self) -> str:
        return "\n".join(p.render() for p in self.problems)


class QueryError(DiplokbError):
    """A SPARQL query was malformed, unknown or refused."""


def did_you_mean(word: str, choices) -> str | None:
    """'did you mean 'x'?' for the closest of `choices`, or None."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
