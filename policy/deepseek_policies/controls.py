"""The control table (controls.yaml): which Security Hub controls apply, which rule enforces each, and
which are waived where and why. Rules take their label and framework from it; README's rule table and
`make policy`'s waiver list are generated from it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TABLE = Path(__file__).with_name("controls.yaml")
ENVIRONMENTS = ("dev", "staging", "prod")
README_BEGIN = "<!-- controls table: generated from policy/deepseek_policies/controls.yaml -->"
README_END = "<!-- end of controls table -->"


@dataclass(frozen=True)
class Waiver:
    scope: tuple[str, ...]
    reason: str
    # The control's rules still run and the waiver covers only the resources they exempt (e.g. a third-party
    # token without rotation): the control is enforced, with a stated exception.
    partial: bool = False


@dataclass(frozen=True)
class Control:
    id: str
    standard: str
    title: str
    rules: tuple[str, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    resource_types: tuple[str, ...] = field(default=())

    def waiver_for(self, environment: str) -> Waiver | None:
        return next((w for w in self.waivers if environment in w.scope), None)

    @property
    def url(self) -> str | None:
        service, _, number = self.id.partition(".")
        page = raw()["pages"].get(service)
        return f"{page}#{service.lower()}-{number}" if page and number else None


@cache
def raw() -> dict[str, Any]:
    # libyaml's loader when PyYAML has it: the table is read on every plan and pack start (~5× faster).
    return yaml.load(TABLE.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def controls() -> tuple[Control, ...]:
    data = raw()
    types_of: dict[str, list[str]] = {}
    for cfn_type, ids in data["applicability"].items():
        for control_id in ids:
            types_of.setdefault(control_id, []).append(cfn_type)
    waivers = data.get("waivers") or {}
    return tuple(
        Control(
            id=row["id"],
            standard=row["standard"],
            title=row["title"],
            rules=tuple(row.get("rules") or ()),
            waivers=tuple(
                Waiver(tuple(w["scope"]), w["reason"], bool(w.get("partial"))) for w in waivers.get(row["id"], ())
            ),
            resource_types=tuple(types_of.get(row["id"], ())),
        )
        for row in data["controls"]
    )


def by_id() -> dict[str, Control]:
    return {c.id: c for c in controls()}


def controls_of_rule(rule: str) -> list[Control]:
    return [c for c in controls() if rule in c.rules]


def label(rule: str) -> str:
    """The control IDs a rule enforces, e.g. "EC2.18/EC2.19/EC2.13" ("?" when the table has no row)."""
    ids = [c.id for c in controls_of_rule(rule)]
    return "/".join(ids) if ids else "?"


def standard(rule: str) -> str:
    """The standard of the rule's first control (FSBP, CIS, NIST, tagging, domain)."""
    found = controls_of_rule(rule)
    return found[0].standard if found else "domain"


def applicable(pulumi_types: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """(control id -> the planned Pulumi types it applies to, planned types the table does not map)."""
    data = raw()
    mapping, unmapped = {}, []
    for t in sorted(set(pulumi_types)):
        if t not in data["resource_types"]:
            unmapped.append(t)
            continue
        for cfn_type in data["resource_types"][t]:
            for control_id in data["applicability"].get(cfn_type, ()):
                mapping.setdefault(control_id, []).append(t)
    return mapping, unmapped


def waivers_relied_on(environment: str, pulumi_types: Iterable[str]) -> list[tuple[Control, Waiver]]:
    """The waivers a stack of `environment` declaring `pulumi_types` relies on."""
    applying, _unmapped = applicable(pulumi_types)
    out = []
    for c in controls():
        w = c.waiver_for(environment)
        if w is not None and c.id in applying:
            out.append((c, w))
    return out


def level(control: Control, environment: str, rule_levels: dict[str, str]) -> str:
    """mandatory / advisory (the strictest of its rules) or waived, for one environment; a partial waiver
    keeps the rules' level ("mandatory, partly waived")."""
    waiver = control.waiver_for(environment)
    if waiver is not None and not (waiver.partial and control.rules):
        return "waived"
    levels = {rule_levels.get(r, "?") for r in control.rules}
    base = "mandatory" if "mandatory" in levels else ("advisory" if "advisory" in levels else "?")
    return f"{base}, partly waived" if waiver is not None else base


def readme_block(policies: Iterable[Any]) -> str:
    """README's generated section: the rules (name, controls, level, what they enforce), every control with its
    level per environment, and the waivers."""
    policies = list(policies)
    rule_levels = {p.name: (p.enforcement_level.value if p.enforcement_level else "mandatory") for p in policies}
    lines = [README_BEGIN, "", "| rule | control | level | what it enforces |", "|---|---|---|---|"]
    for p in policies:
        summary = p.description.split(": ", 1)[1].split(" Remediation: ", 1)[0].removeprefix("ADVISORY: ")
        lines.append(f"| `{p.name}` | {label(p.name)} | {rule_levels[p.name]} | {summary} |")
    lines += ["", *readme_table(rule_levels).splitlines()[1:]]
    return "\n".join(lines)


def readme_table(rule_levels: dict[str, str]) -> str:
    """README's control table: one row per control, its rules, its level per environment; then the waivers."""
    lines = [
        README_BEGIN,
        "",
        "Every Security Hub control that applies to what the shipped stacks declare, by environment:",
        "",
        "| control | standard | title | rules | dev | staging | prod |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in controls():
        ident = f"[{c.id}]({c.url})" if c.url else c.id
        rules = ", ".join(f"`{r}`" for r in c.rules) or "—"
        levels = " | ".join(level(c, e, rule_levels) for e in ENVIRONMENTS)
        lines.append(f"| {ident} | {c.standard} | {c.title} | {rules} | {levels} |")
    lines += [
        "",
        "Waivers (why a control is not enforced, and where):",
        "",
        "| control | scope | reason |",
        "|---|---|---|",
    ]
    for c in controls():
        for w in c.waivers:
            lines.append(f"| {c.id} | {', '.join(w.scope)} | {w.reason} |")
    lines += ["", README_END]
    return "\n".join(lines)


def replace_readme_block(text: str, block: str) -> str:
    begin, end = text.index(README_BEGIN), text.index(README_END) + len(README_END)
    return text[:begin] + block + text[end:]
