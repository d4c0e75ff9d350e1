"""A small IAM policy evaluator: is one request allowed by a set of identity policies?

It honours what decides most answers: Action/NotAction (case-insensitive, `*` and `?` wildcards),
Resource/NotResource (case-sensitive wildcards; `*` also matches `/` and `:`), explicit Deny over Allow, and
the condition operators the CI policies use. It is an approximation of AWS's logic
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html), stated here:

- Only identity policies of one principal: no SCPs, resource policies, session policies or boundaries.
- A condition key the request context does not mention is treated as satisfiable (for an Allow it may hold,
  for a Deny it is assumed to hold: both the pessimistic reading). A key the context marks absent (None) fails
  every operator except `...IfExists` and `Null: true`, as in AWS: that is how "a key being created carries no
  aws:ResourceTag" is expressed.
- Operators: String{Equals,NotEquals,Like,NotLike,EqualsIgnoreCase}, Arn{Equals,Like,NotEquals,NotLike}, Bool,
  Null, each optionally `...IfExists`; an unknown operator raises instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    action: str  # service:Name, exact (no wildcard)
    resource: str  # one ARN, or "*" for actions without resource-level permissions
    # Condition keys the request carries: a value, a list of values, or None = known to be absent.
    context: Mapping[str, Any] = field(default_factory=dict)


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _glob_body(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


@cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern:
    return re.compile(f"^{_glob_body(pattern)}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


@cache
def _any_glob(patterns: tuple[str, ...], ignore_case: bool) -> re.Pattern:
    """One pattern for a statement's whole Action/Resource list (a policy has hundreds of actions)."""
    body = "|".join(f"(?:{_glob_body(p)})" for p in patterns)
    return re.compile(f"^(?:{body})$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return bool(_glob(pattern, ignore_case).match(value))


_COMPARE = {
    "StringEquals": lambda want, got: want == got,
    "StringEqualsIgnoreCase": lambda want, got: want.lower() == got.lower(),
    "StringLike": lambda want, got: matches(want, got),
    "ArnEquals": lambda want, got: want == got,
    "ArnLike": lambda want, got: matches(want, got),
    "Bool": lambda want, got: str(want).lower() == str(got).lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _key_in(context: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    for name, value in context.items():
        if name.lower() == key.lower():  # condition key names are case-insensitive
            return True, value
    return False, None


def _condition_holds(operator: str, key: str, wanted: Any, context: Mapping[str, Any], *, deny: bool) -> bool:
    known, value = _key_in(context, key)
    if not known:
        return True  # unknown to this request model: satisfiable (for a Deny: assumed to apply)
    if operator == "Null":
        return str(_as_list(wanted)[0]).lower() == ("true" if value is None else "false")
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if value is None:
        return if_exists
    negated = base in _NEGATED
    compare = _COMPARE.get(_NEGATED.get(base, base))
    if compare is None:
        raise ValueError(f"condition operator {operator} is not modelled by offline/iam_eval.py")
    hit = any(compare(str(w), str(v)) for w in _as_list(wanted) for v in _as_list(value))
    return not hit if negated else hit


def _conditions_hold(stmt: Mapping, context: Mapping[str, Any]) -> bool:
    deny = stmt.get("Effect") == "Deny"
    for operator, keys in (stmt.get("Condition") or {}).items():
        for key, wanted in keys.items():
            if not _condition_holds(operator, key, wanted, context, deny=deny):
                return False
    return True


def statements(policies: Iterable[Mapping]) -> list[Mapping]:
    return [s for doc in policies for s in _as_list(doc.get("Statement", []))]


def _matcher(patterns: Any, ignore_case: bool, negated: bool) -> Callable[[str], bool]:
    listed = tuple(_as_list(patterns))
    if not listed:
        return lambda value: negated
    match = _any_glob(listed, ignore_case).match
    return (lambda value: match(value) is None) if negated else (lambda value: match(value) is not None)


@dataclass(frozen=True)
class _Statement:
    """One statement with its Action/NotAction and Resource/NotResource patterns compiled once."""

    stmt: Mapping
    action: Callable[[str], bool]
    resource: Callable[[str], bool]

    @classmethod
    def of(cls, stmt: Mapping) -> _Statement:
        if "Action" in stmt:
            action = _matcher(stmt["Action"], True, negated=False)
        else:
            action = _matcher(stmt.get("NotAction", []), True, negated=True)
        if "Resource" in stmt:
            resource = _matcher(stmt["Resource"], False, negated=False)
        elif "NotResource" in stmt:
            resource = _matcher(stmt["NotResource"], False, negated=True)
        else:
            resource = _matcher((), False, negated=False)  # no Resource element: matches nothing
        return cls(stmt, action, resource)


@dataclass(frozen=True)
class CompiledPolicies:
    """A set of identity policies ready for many requests: a deploy role's statements list hundreds of actions,
    and matching one request at a time re-built every alternation's cache key."""

    statements: tuple[_Statement, ...]

    def decide(self, request: Request) -> tuple[str, list[str]]:
        """(decision, Sids of the statements that decided it)."""
        allowed, denied = [], []
        for s in self.statements:
            if not (s.action(request.action) and s.resource(request.resource)):
                continue
            if not _conditions_hold(s.stmt, request.context):
                continue
            (denied if s.stmt.get("Effect") == "Deny" else allowed).append(str(s.stmt.get("Sid", "?")))
        if denied:
            return EXPLICIT_DENY, denied
        if allowed:
            return ALLOW, allowed
        return IMPLICIT_DENY, []


def compile_policies(policies: Iterable[Mapping]) -> CompiledPolicies:
    return CompiledPolicies(tuple(_Statement.of(stmt) for stmt in statements(policies)))


def decide(policies: Sequence[Mapping], request: Request) -> tuple[str, list[str]]:
    """(decision, Sids of the statements that decided it)."""
    return compile_policies(policies).decide(request)


def is_allowed(policies: Sequence[Mapping], request: Request) -> bool:
    return decide(policies, request)[0] == ALLOW
