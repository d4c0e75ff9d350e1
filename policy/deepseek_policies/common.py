"""Helpers shared by the rules: plain values, unknowns, tags, policy factories and stack matching.

Rules never touch `args.props` through pulumi-policy's unknown-checking proxy directly (an unknown
value would abort the whole rule with a generic "can't run policy during preview" advisory). Instead
they read a plain copy in which unknown values stay as pulumi-policy's sentinel strings and decide
per property: an unknown value is never reported as a violation in preview; `pulumi up` runs the
rules again with resolved inputs, and stack rules run once more on the final outputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import proxy as _proxy

from deepseek_policies import controls

UNKNOWN = _proxy.UNKNOWN_STRING_VALUE
_UNKNOWNS = frozenset(
    {
        _proxy.UNKNOWN_BOOLEAN_VALUE,
        _proxy.UNKNOWN_NUMBER_VALUE,
        _proxy.UNKNOWN_STRING_VALUE,
        _proxy.UNKNOWN_ARRAY_VALUE,
        _proxy.UNKNOWN_ASSET_VALUE,
        _proxy.UNKNOWN_ARCHIVE_VALUE,
        _proxy.UNKNOWN_OBJECT_VALUE,
    }
)
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

MISSING = object()


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in _UNKNOWNS


def plain(value: Any) -> Any:
    """A plain dict/list copy of engine properties: proxies unwrapped, secrets revealed, unknowns kept
    as sentinel strings, `pulumi.output.Unknown` (what `pulumi.runtime.rpc` deserializes unknowns to in
    a dry run) turned into the sentinel."""
    if isinstance(value, (_proxy._DictProxy, _proxy._ListProxy)):
        value = value["__target"]
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return plain(value.get("value"))
        return {str(k): plain(value[k]) for k in value}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if type(value).__name__ == "Unknown":  # pulumi.output.Unknown
        return UNKNOWN
    secret_value = getattr(value, "value", MISSING)  # pulumi_policy.Secret
    if secret_value is not MISSING and type(value).__name__ == "Secret":
        return plain(secret_value)
    return UNKNOWN  # resource references, assets, outputs: nothing a rule can check


def dig(value: Any, *path: str | int, default: Any = None) -> Any:
    """value[path0][path1]...; `default` when a step is missing or None, UNKNOWN when a step is unknown."""
    for step in path:
        if is_unknown(value):
            return UNKNOWN
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return default
            value = value[step]
        else:
            if not isinstance(value, Mapping) or step not in value:
                return default
            value = value[step]
        if value is None:
            return default
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if is_unknown(value):
        return [UNKNOWN]
    if isinstance(value, list):
        return value
    return [value]


def is_true(value: Any) -> bool:
    """Booleans arrive as bool, or as "true"/"false" strings for string-typed provider inputs
    (e.g. launch template `encrypted`, `associatePublicIpAddress`)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def is_set(value: Any) -> bool:
    """Non-empty or unknown (an unknown value will be set to *something* at deploy time)."""
    return is_unknown(value) or (value is not None and value != "" and value != [] and value != {})


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or is_unknown(value):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def fmt_num(value: float | None) -> str:
    if value is None:
        return "unset"
    return str(int(value)) if float(value).is_integer() else str(value)


class ParseError(ValueError):
    pass


def parse_json(value: Any) -> Any:
    """A JSON-string property (policy documents, containerDefinitions) as data; UNKNOWN stays UNKNOWN;
    None when unset; ParseError when it is not JSON."""
    if value is None or is_unknown(value):
        return value
    if isinstance(value, (Mapping, list)):
        return plain(value)
    if not isinstance(value, str):
        raise ParseError(f"expected a JSON string, got {type(value).__name__}")
    if any(u in value for u in _UNKNOWNS):
        return UNKNOWN
    try:
        return json.loads(value)
    except ValueError as e:
        raise ParseError(str(e)) from e


def tags_of(resource_type: str, props: Mapping[str, Any]) -> dict[str, Any] | str | None:
    """The resource's tags as a dict (an autoscaling group's `[{key, value, propagateAtLaunch}]` list is
    folded into one); UNKNOWN when the tag map itself is unknown; None when absent."""
    tags = props.get("tags")
    if tags is None:
        return None
    if is_unknown(tags):
        return UNKNOWN
    if isinstance(tags, list):  # aws:autoscaling/group:Group
        folded: dict[str, Any] = {}
        for item in tags:
            if isinstance(item, Mapping) and isinstance(item.get("key"), str):
                folded[item["key"]] = item.get("value")
            elif is_unknown(item):
                return UNKNOWN
        return folded
    if isinstance(tags, Mapping):
        return dict(tags)
    return None


def known_tags(resource_type: str, props: Mapping[str, Any]) -> dict[str, Any]:
    tags = tags_of(resource_type, props)
    return tags if isinstance(tags, dict) else {}


_NAME_TOKEN_RE = re.compile(r"[^a-z0-9]+")


def name_tokens(*names: Any) -> set[str]:
    tokens: set[str] = set()
    for name in names:
        if isinstance(name, str) and not is_unknown(name):
            tokens.update(t for t in _NAME_TOKEN_RE.split(name.lower()) if t)
    return tokens


# -- policy factories --------------------------------------------------------------------------------

FSBP = PolicyComplianceFramework(
    name="AWS Security Hub Foundational Security Best Practices",
    reference="https://docs.aws.amazon.com/securityhub/latest/userguide/fsbp-standard.html",
)
CIS = PolicyComplianceFramework(
    name="CIS AWS Foundations Benchmark",
    version="3.0.0",
    reference="https://docs.aws.amazon.com/securityhub/latest/userguide/cis-aws-foundations-benchmark.html",
)
NIST = PolicyComplianceFramework(
    name="NIST SP 800-53 Rev. 5",
    version="5",
    reference="https://docs.aws.amazon.com/securityhub/latest/userguide/standards-reference-nist-800-53.html",
)
TAGGING = PolicyComplianceFramework(
    name="AWS Resource Tagging Standard",
    reference="https://docs.aws.amazon.com/securityhub/latest/userguide/standards-tagging.html",
)
DOMAIN = PolicyComplianceFramework(name="deepseek-cloud platform rules")
FRAMEWORKS = {"FSBP": FSBP, "CIS": CIS, "NIST": NIST, "tagging": TAGGING, "domain": DOMAIN}


@dataclass
class Ctx:
    """What a resource rule sees: plain props, merged config, provider props."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    config: dict[str, Any]
    provider_props: dict[str, Any] = field(default_factory=dict)


def _description(control: str, summary: str, remediation: str) -> str:
    return f"{control}: {summary} Remediation: {remediation}"


def _schema(defaults: Mapping[str, Any], schema: Mapping[str, Mapping[str, Any]] | None) -> PolicyConfigSchema | None:
    if not schema:
        return None
    props = {k: dict(v) for k, v in schema.items()}
    for k, v in defaults.items():
        if k in props and "default" not in props[k]:
            props[k]["default"] = v
    return PolicyConfigSchema(properties=props)


def _shared(name, summary, remediation, level, severity, defaults, schema, tags) -> dict[str, Any]:
    """The policy fields resource and stack rules declare alike; control IDs and framework come from the
    control table (controls.yaml)."""
    control = controls.label(name)
    framework = FRAMEWORKS[controls.standard(name)]
    return {
        "description": _description(control, summary, remediation),
        "enforcement_level": level,
        "config_schema": _schema(defaults, schema),
        "severity": severity,
        "framework": framework,
        "tags": [*control.split("/"), *tags],
        "remediation_steps": remediation,
    }


def resource_policy(
    *,
    name: str,
    summary: str,
    remediation: str,
    types: Iterable[str],
    check: Callable[[Ctx, Callable[[str], None]], None],
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
    severity: Severity = Severity.HIGH,
    defaults: Mapping[str, Any] | None = None,
    schema: Mapping[str, Mapping[str, Any]] | None = None,
    tags: Sequence[str] = (),
) -> ResourceValidationPolicy:
    """A ResourceValidationPolicy that runs `check` on resources of `types` (all types when empty)."""
    type_set = frozenset(types)
    defaults = dict(defaults or {})

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if type_set and args.resource_type not in type_set:
            return
        provider_props = plain(args.provider.props) if args.provider is not None else {}
        ctx = Ctx(
            type=args.resource_type,
            name=args.name,
            urn=args.urn,
            props=plain(args.props) or {},
            config={**defaults, **(plain(args.get_config()) or {})},
            provider_props=provider_props or {},
        )
        check(ctx, lambda message: report_violation(message, None))

    return ResourceValidationPolicy(
        name=name,
        validate=validate,
        **_shared(name, summary, remediation, level, severity, defaults, schema, tags),
    )


@dataclass
class Res:
    """A stack resource as stack rules see it."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    parent: str | None = None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def tags(self) -> dict[str, Any]:
        return known_tags(self.type, self.props)


def stack_policy(
    *,
    name: str,
    summary: str,
    remediation: str,
    check: Callable[[list[Res], dict[str, Any], Callable[[str, str | None], None]], None],
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
    severity: Severity = Severity.HIGH,
    defaults: Mapping[str, Any] | None = None,
    schema: Mapping[str, Mapping[str, Any]] | None = None,
    tags: Sequence[str] = (),
) -> StackValidationPolicy:
    defaults = dict(defaults or {})

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = []
        for r in args.resources:
            parent = r.parent.urn if r.parent is not None else (r.opts.parent if r.opts is not None else None)
            resources.append(
                Res(
                    type=r.resource_type,
                    name=r.name,
                    urn=r.urn,
                    props=plain(r.props) or {},
                    parent=parent or None,
                    dependencies=[d.urn for d in (r.dependencies or [])],
                    property_dependencies={k: [d.urn for d in v] for k, v in (r.property_dependencies or {}).items()},
                )
            )
        config = {**defaults, **(plain(args.get_config()) or {})}
        check(resources, config, lambda message, urn=None: report_violation(message, urn))

    return StackValidationPolicy(
        name=name,
        validate=validate,
        **_shared(name, summary, remediation, level, severity, defaults, schema, tags),
    )


# -- stack matching ------------------------------------------------------------------------------------


def refers_to(source: Res, prop: str, target: Res, target_keys: Sequence[str]) -> bool | None:
    """Does `source.props[prop]` reference `target`? True/False when decidable, None when not.

    1. property dependencies (what the engine sends: the URNs `prop` was computed from) decide;
    2. otherwise a known value is compared with the target's known identifying props (`target_keys`,
       e.g. `bucket`, `id`, `arn`, `arnSuffix`);
    3. an unknown value, or a target whose identifying props are all unknown, is undecidable.
    """
    deps = source.property_dependencies.get(prop)
    if deps:
        return target.urn in deps
    value = source.props.get(prop)
    if value is None:
        return False
    if is_unknown(value):
        return None
    target_values = [target.props.get(k) for k in target_keys]
    known = [v for v in target_values if isinstance(v, str) and v and not is_unknown(v)]
    if value in known:
        return True
    if any(is_unknown(v) for v in target_values):
        return None
    return False


def by_convention(source: Res, candidates: Sequence[Res]) -> Res | None:
    """Naming fallback when values are unknown: the source is a child of the target, or its logical
    name starts with the target's logical name (`<bucket>-policy`, `<repo>-lifecycle`)."""
    for t in candidates:
        if source.parent and source.parent == t.urn:
            return t
    prefixed = [t for t in candidates if source.name.startswith(f"{t.name}-") or source.name == t.name]
    if prefixed:
        return max(prefixed, key=lambda t: len(t.name))
    return None


@dataclass
class Matching:
    by_target: dict[str, list[Res]]
    unresolved: list[Res]


def match_companions(
    targets: Sequence[Res], companions: Sequence[Res], prop: str, target_keys: Sequence[str]
) -> Matching:
    """Assign each companion (bucket policy, lifecycle policy, ...) to the target it configures."""
    by_target: dict[str, list[Res]] = {t.urn: [] for t in targets}
    unresolved: list[Res] = []
    for c in companions:
        verdicts = [(t, refers_to(c, prop, t, target_keys)) for t in targets]
        matched = [t for t, v in verdicts if v is True]
        if matched:
            for t in matched:
                by_target[t.urn].append(c)
            continue
        undecided = [t for t, v in verdicts if v is None]
        # Naming convention among the undecidable targets; if none is undecidable, among all of them:
        # a known value that matches no target usually means the target's identifier (e.g. its `id`)
        # is not in the data, as with an offline plan's fabricated ids.
        chosen = by_convention(c, undecided or targets)
        if chosen is None and len(undecided) == 1:
            chosen = undecided[0]
        if chosen is not None:
            by_target[chosen.urn].append(c)
        elif undecided:
            unresolved.append(c)
    return Matching(by_target, unresolved)


def report_missing(
    targets: Sequence[Res],
    matching: Matching,
    report: Callable[[str, str | None], None],
    what: str,
    message: Callable[[Res], str],
) -> None:
    """Report targets without any companion. Companions whose target cannot be determined (unknown
    values, no dependency info) may cover the unmatched targets, so only the excess is reported."""
    missing = [t for t in targets if not matching.by_target.get(t.urn)]
    if matching.unresolved and len(matching.unresolved) >= len(missing):
        return
    for t in missing:
        extra = (
            f" ({len(matching.unresolved)} {what} could not be tied to a target because their target is unknown)"
            if matching.unresolved
            else ""
        )
        report(message(t) + extra, t.urn)
