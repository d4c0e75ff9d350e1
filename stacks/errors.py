"""Config errors: every problem in a stack's config, reported together, one line each."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pulumi

NAMESPACE = "deepseek-cloud"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    if not match:
        lowered = {c.lower(): c for c in candidates}
        match = [lowered[str(word).lower()]] if str(word).lower() in lowered else []
    return f"; did you mean {match[0]!r}?" if match else ""


def show(value: object) -> str:
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    return str(value)


@dataclass(frozen=True)
class Problem:
    """One bad config value: `<namespace>:<path>: <reason> (got <value>; allowed: <allowed>)`."""

    path: str
    reason: str
    got: object = None
    allowed: str = ""
    namespace: str = NAMESPACE
    hint: str = ""

    def __str__(self) -> str:
        detail = f"got {show(self.got)}"
        if self.allowed:
            detail += f"; allowed: {self.allowed}"
        return f"{self.namespace}:{self.path}: {self.reason} ({detail}){self.hint}"


def allowed_list(values: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f", … ({len(values) - limit} more)" if len(values) > limit else "")


class ConfigError(pulumi.RunError):
    """Raised before any resource is declared. A RunError, so Pulumi prints it without a traceback."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the stack config:\n{lines}")
