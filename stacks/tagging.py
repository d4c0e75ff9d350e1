"""Tags on every taggable AWS resource, applied once by a stack transform instead of per resource."""

from __future__ import annotations

import functools
import importlib
import inspect

import pulumi


@functools.cache
def accepts_tags(type_token: str) -> bool:
    """Whether a pulumi-aws resource type takes a `tags` input, read from the SDK's own signature."""
    package, module_path, _ = ([*type_token.split(":"), "", ""])[:3]
    if package != "aws":
        return False
    module = module_path.split("/")[0]
    # Python keywords get a trailing underscore in the SDK (aws:lambda/function:Function -> pulumi_aws.lambda_).
    module = f"{module}_" if module in ("lambda",) else module
    class_name = type_token.rsplit(":", 1)[1]
    try:
        sdk = importlib.import_module("pulumi_aws" if module == "index" else f"pulumi_aws.{module}")
        cls = getattr(sdk, class_name)
    except (ImportError, AttributeError):
        return False
    return "tags" in inspect.signature(cls._internal_init).parameters


def merge_tags(type_token: str, props: dict, tags: dict[str, str]) -> dict | None:
    """Props with `tags` merged in (resource's own tags win), or None when the type takes no tags."""
    if not accepts_tags(type_token):
        return None
    if type_token == "aws:autoscaling/group:Group":
        # ASG tags are a list of {key, value, propagateAtLaunch}: propagate so instances carry them.
        own = list(props.get("tags") or [])
        present = {t.get("key") for t in own}
        added = [{"key": k, "value": v, "propagateAtLaunch": True} for k, v in tags.items() if k not in present]
        return {**props, "tags": own + added}
    merged = {**props, "tags": {**tags, **(props.get("tags") or {})}}
    if type_token == "aws:ec2/launchTemplate:LaunchTemplate" and isinstance(props.get("tagSpecifications"), list):
        # A launch template's own tags stay on the template; what it launches (instances, volumes, ENIs)
        # carries only its tagSpecifications: give each spec the stack tags too (the spec's own tags win).
        merged["tagSpecifications"] = [
            {**spec, "tags": {**tags, **(spec.get("tags") or {})}}
            if isinstance(spec, dict) and isinstance(spec.get("tags") or {}, dict)
            else spec  # an unknown spec or tag map is left as the program wrote it
            for spec in props["tagSpecifications"]
        ]
    return merged


def register_default_tags(tags: dict[str, str]) -> None:
    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        props = merge_tags(args.type_, args.props, tags) if args.custom else None
        return pulumi.ResourceTransformResult(props=props, opts=args.opts) if props is not None else None

    pulumi.runtime.register_resource_transform(transform)
