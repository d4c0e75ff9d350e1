"""Component argument checks: collect every problem, raise one InputPropertiesError."""

from __future__ import annotations

import pulumi


class ArgsProblems:
    def __init__(self, component: str):
        self.component = component
        self.errors: list[pulumi.InputPropertyErrorDetails] = []

    def check(self, ok: bool, path: str, reason: str) -> None:
        if not ok:
            self.errors.append({"property_path": path, "reason": reason})

    def raise_if_any(self) -> None:
        if self.errors:
            lines = "; ".join(f"{e['property_path']}: {e['reason']}" for e in self.errors)
            raise pulumi.InputPropertiesError(f"{self.component}: {lines}", errors=self.errors)
