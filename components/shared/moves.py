"""Aliases for resources moved between components: a moved child keeps its URN, so Pulumi updates it in
place instead of replacing it (prod's protected resources would refuse a replacement). Checked against
the recorded URNs of every shipped stack by tests/test_urn_stability.py."""

from __future__ import annotations

import pulumi


def moved(old_parent: pulumi.Resource | None) -> list[pulumi.Alias] | None:
    """Aliases of a child that used to be declared directly under `old_parent` with the same name and type."""
    return [pulumi.Alias(parent=old_parent)] if old_parent is not None else None
