"""Run the pack's rules directly (no gRPC, no Pulumi engine) over a planned stack.

    from deepseek_policies.report import check
    result = check(resources, "dev")          # resources: see deepseek_policies/resources.py
    result["passed"], result["mandatory"], result["advisory"]

CLI (for `make plan` / `make policy`):
    PYTHONPATH=policy python -m deepseek_policies.report plan.json --environment dev [--config cfg.json]
    python policy/deepseek_policies/report.py plan.json --environment prod --format text
`plan.json` is a JSON list of resource dicts (or {"resources": [...]}); exit status 1 when a
mandatory rule is violated, 2 on bad input.

Rules see the same objects the analyzer would build: `ResourceValidationArgs` with unknown-checking
proxied inputs per resource, then `StackValidationArgs` with `PolicyResource`s (state = inputs +
outputs) whose parent / dependencies / propertyDependencies are wired like the engine does.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `deepseek_policies` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from inspect import isawaitable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from deepseek_policies import ALL_POLICIES, default_level, schema_properties
from deepseek_policies.config import normalize_environment, resolve_policy_config
from deepseek_policies.resources import Resource, normalize

Policy = ResourceValidationPolicy | StackValidationPolicy


def _options(parent: str | None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def _provider(r: Resource) -> PolicyProviderResource | None:
    if not r.provider:
        return None
    p = r.provider
    return PolicyProviderResource(p["type"], unknown_checking_proxy(dict(p["inputs"])), p["urn"], p["name"])


def _run(result: Any) -> None:
    if isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(result)
        finally:
            loop.close()


def stack_policy_resources(resources: list[Resource]) -> list[PolicyResource]:
    """PolicyResources wired like pulumi-policy's AnalyzeStack does."""
    built = {
        r.urn: PolicyResource(
            r.type,
            unknown_checking_proxy(dict(r.stack_props)),
            r.urn,
            r.name,
            _options(r.parent),
            _provider(r),
            None,
            [],
            {},
        )
        for r in resources
    }
    for r in resources:
        res = built[r.urn]
        if r.parent in built:
            res.parent = built[r.parent]
        res.dependencies.extend(built[d] for d in r.dependencies if d in built)
        for k, urns in r.property_dependencies.items():
            res.property_dependencies[k] = [built[u] for u in urns if u in built]
    return list(built.values())


def run_policies(
    resources: Iterable[Mapping[str, Any]],
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
    policies: list[Policy] | None = None,
    stack: str | None = None,
) -> list[dict[str, Any]]:
    """Every violation as {policy, level, message, description, urn, type, name, stage}."""
    policies = policies if policies is not None else ALL_POLICIES
    env = normalize_environment(environment) if environment else None
    normalized = normalize(resources, stack=stack or env or "dev")
    by_urn = {r.urn: r for r in normalized}
    resolved = resolve_policy_config(
        [(p.name, default_level(p), schema_properties(p)) for p in policies], config, environment
    )
    violations: list[dict[str, Any]] = []

    def collector(policy: Policy, level: EnforcementLevel, stage: str, default_urn: str | None):
        def report_violation(message: str, urn: str | None = None) -> None:
            target = by_urn.get(urn or default_urn or "")
            violations.append(
                {
                    "policy": policy.name,
                    "level": level.value,
                    "message": message,
                    "description": policy.description,
                    "urn": urn or default_urn or "",
                    "type": target.type if target else None,
                    "name": target.name if target else None,
                    "stage": stage,
                }
            )

        return report_violation

    # The analyzer server wraps a resource's inputs anew for every policy; the policies only read them, so
    # one read-only wrapper per resource (and one stack view) serves them all at a fraction of the cost.
    proxies: dict[int, Any] = {}
    stack_view: list[Any] = []

    def proxy_of(r: Any) -> Any:
        if id(r) not in proxies:
            proxies[id(r)] = unknown_checking_proxy(dict(r.inputs))
        return proxies[id(r)]

    for policy in policies:
        level, props = resolved[policy.name]
        if level == EnforcementLevel.DISABLED:
            continue
        if level == EnforcementLevel.REMEDIATE:
            level = EnforcementLevel.MANDATORY
        if isinstance(policy, ResourceValidationPolicy):
            for r in normalized:
                args = ResourceValidationArgs(
                    r.type,
                    proxy_of(r),
                    r.urn,
                    r.name,
                    _options(r.parent),
                    _provider(r),
                    dict(props),
                    {},
                )
                report = collector(policy, level, "resource", r.urn)
                try:
                    _run(policy.validate(args, report))
                except UnknownValueError as e:
                    collector(policy, EnforcementLevel.ADVISORY, "resource", r.urn)(
                        f"can't run policy '{policy.name}' during preview: {e.message}"
                    )
        else:
            stack_view = stack_view or stack_policy_resources(normalized)
            args = StackValidationArgs(stack_view, dict(props), {})
            report = collector(policy, level, "stack", None)
            try:
                _run(policy.validate(args, report))
            except UnknownValueError as e:
                collector(policy, EnforcementLevel.ADVISORY, "stack", None)(
                    f"can't run policy '{policy.name}' during preview: {e.message}"
                )
    return violations


def group(violations: list[dict[str, Any]], environment: str | None = None) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {"mandatory": [], "advisory": []}
    for v in violations:
        grouped.setdefault(v["level"], []).append(v)
    return {
        "environment": environment,
        "passed": not grouped["mandatory"],
        **grouped,
        "summary": {
            "mandatory": len(grouped["mandatory"]),
            "advisory": len(grouped["advisory"]),
            "by_policy": dict(sorted(Counter(v["policy"] for v in violations).items())),
        },
    }


def check(
    resources: Iterable[Mapping[str, Any]],
    environment: str,
    config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run every rule over `resources` for `environment` (dev | staging | prod).

    `config` is optional Pulumi policy-pack config ({"all": "advisory"}, {"<policy>": {"enforcementLevel":
    "disabled"}}, {"gpu-pool-max-size": {"maxSizeByEnvironment": {...}}}, ...).

    Returns {"environment", "passed", "mandatory": [violation], "advisory": [violation],
    "summary": {"mandatory": n, "advisory": n, "by_policy": {name: n}}}; each violation is
    {"policy", "level", "message", "description", "urn", "type", "name", "stage"}.
    """
    env = normalize_environment(environment)
    if env is None:
        raise ValueError(f"unknown environment {environment!r}; expected dev, staging or prod")
    return group(run_policies(resources, env, config), env)


def format_text(result: Mapping[str, Any]) -> str:
    lines = [f"policy check ({result['environment']}): {'PASSED' if result['passed'] else 'FAILED'}"]
    for level in ("mandatory", "advisory"):
        for v in result.get(level, []):
            where = v["name"] or v["urn"] or "stack"
            lines.append(f"  [{level}] {v['policy']} ({where}): {v['message']}")
    s = result["summary"]
    lines.append(f"{s['mandatory']} mandatory, {s['advisory']} advisory violation(s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the deepseek-cloud policy rules over a planned stack.")
    parser.add_argument("plan", help="JSON file with a list of resource dicts (or {'resources': [...]}); - = stdin")
    parser.add_argument("--environment", "-e", required=True, choices=["dev", "staging", "prod"])
    parser.add_argument("--config", help="policy-pack config JSON file (same shape as --policy-pack-config)")
    parser.add_argument("--format", choices=["json", "text"], default="text")
    args = parser.parse_args(argv)
    try:
        raw = sys.stdin.read() if args.plan == "-" else Path(args.plan).read_text()
        data = json.loads(raw)
        resources = data.get("resources", []) if isinstance(data, dict) else data
        config = json.loads(Path(args.config).read_text()) if args.config else None
        result = check(resources, args.environment, config)
    except (OSError, ValueError) as e:
        print(f"policy check: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str) if args.format == "json" else format_text(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
