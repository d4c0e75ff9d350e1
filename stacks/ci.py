"""The `ci` stack: GitHub Actions' identity in one AWS account (OIDC provider, preview and deploy roles).

It is its own stack because it must exist before CI can run anything, and because it is the one thing CI
must not be able to change: it is brought up once by a person with admin credentials (README: "Pull-request
previews and deploys") and changed only the same way. A program for it is a few lines, e.g.

    from stacks.ci import build_ci_identity
    for key, value in build_ci_identity("acme/deepseek-cloud", state_bucket="acme-pulumi-state").items():
        pulumi.export(key, value)

The project that does so is `ci/` (its own Pulumi.yaml, `deepseek-cloud-ci:*` keys): `load_ci_config()` parses
those keys into a frozen `CiConfig`, reporting every bad value at once as a ConfigError.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError
from pydantic.alias_generators import to_camel

from components.ci.github_oidc_role import (
    _BOUNDARY_ARN,
    _BUCKET,
    _ENVIRONMENT,
    _KMS_KEY_ARN,
    _PROVIDER_ARN,
    _REGION,
    _REPOSITORY,
    GithubOidcRole,
    GithubOidcRoleArgs,
)
from stacks.errors import ConfigError, Problem, did_you_mean
from stacks.yaml_files import read_yaml

CI_NAMESPACE = "deepseek-cloud-ci"
CI_PROJECT_FILE = Path(__file__).resolve().parent.parent / "ci" / "Pulumi.yaml"
# What Pulumi.example.yaml asks to replace: left in, the stack would trust or reach nothing real. Matched
# case-insensitively (a bucket name must be lower case).
PLACEHOLDERS = ("REPLACE-ME", "111122223333")
# The one stack allowed to keep them: `make plan PROJECT=ci STACK=example` plans the shipped example as is.
EXAMPLE_STACK = "example"
# extraStacks items: "<stack>:<environment>", both names as GitHub environments spell them.
_NAME = _ENVIRONMENT.pattern.removeprefix("^").removesuffix("$")
_STACK_IN_ENVIRONMENT = f"^{_NAME}:{_NAME}$"


def build_ci_identity(
    repository: str,
    *,
    name: str = "deepseek-ci",
    allowed_refs: tuple[str, ...] = ("refs/heads/main",),
    allowed_environments: tuple[str, ...] = ("dev", "staging", "prod"),
    extra_stacks: tuple[tuple[str, str], ...] = (),
    oidc_provider_arn: str = "",
    state_bucket: str = "",
    state_kms_key: str = "",
    permissions_boundary_arn: str = "",
    regions: tuple[str, ...] = (),
    tags: Mapping[str, str] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> dict[str, pulumi.Output[str]]:
    """Declare the CI identity; returns the stack outputs to export (role ARNs go into GitHub variables)."""
    identity = GithubOidcRole(
        name,
        GithubOidcRoleArgs(
            repository=repository,
            allowed_refs=tuple(allowed_refs),
            allowed_environments=tuple(allowed_environments),
            extra_stacks=tuple(extra_stacks),
            oidc_provider_arn=oidc_provider_arn,
            state_bucket=state_bucket,
            state_kms_key=state_kms_key,
            permissions_boundary_arn=permissions_boundary_arn,
            regions=tuple(regions),
            tags={"project": "deepseek-cloud", "stack": "ci", **dict(tags or {})},
        ),
        opts,
    )
    return {
        "oidcProviderArn": identity.oidc_provider_arn,
        "previewRoleArn": identity.preview_role_arn,
        # {environment: role ARN}: each goes into that GitHub environment's AWS_DEPLOY_ROLE_ARN variable.
        "deployRoleArns": pulumi.Output.all(**identity.deploy_role_arns),
    }


# --- the ci project's config -----------------------------------------------------------------------------


def _optional(pattern: str) -> str:
    """Empty or `pattern` (anchored ^…$), for keys whose empty value means "not used"."""
    return f"^$|{pattern}"


Text = Annotated[str, Strict()]


class CiConfig(BaseModel):
    """`deepseek-cloud-ci:*`, checked with the same patterns GithubOidcRole enforces, but reported as config."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=False)

    repository: Annotated[Text, Field(pattern=_REPOSITORY.pattern)]
    state_bucket: Annotated[Text, Field(pattern=_optional(_BUCKET.pattern))]
    state_kms_key: Annotated[Text, Field(pattern=_optional(_KMS_KEY_ARN.pattern))]
    oidc_provider_arn: Annotated[Text, Field(pattern=_optional(_PROVIDER_ARN.pattern))]
    permissions_boundary_arn: Annotated[Text, Field(pattern=_optional(_BOUNDARY_ARN.pattern))]
    allowed_environments: tuple[Annotated[Text, Field(pattern=_ENVIRONMENT.pattern)], ...]
    extra_stacks: tuple[Annotated[Text, Field(pattern=_STACK_IN_ENVIRONMENT)], ...]
    regions: tuple[Annotated[Text, Field(pattern=_REGION.pattern)], ...]

    def identity_args(self) -> dict[str, Any]:
        """Keyword arguments of build_ci_identity (after the repository)."""
        return {
            "allowed_environments": self.allowed_environments,
            "extra_stacks": tuple(tuple(item.split(":", 1)) for item in self.extra_stacks),
            "oidc_provider_arn": self.oidc_provider_arn,
            "state_bucket": self.state_bucket,
            "state_kms_key": self.state_kms_key,
            "permissions_boundary_arn": self.permissions_boundary_arn,
            "regions": self.regions,
        }


# What each key accepts, for the error line (the regexes themselves would be unreadable there).
_ALLOWED = {
    "repository": "owner/name exactly as GitHub spells it, e.g. acme/deepseek-cloud",
    "stateBucket": '"" (Pulumi Cloud) or an S3 bucket name, not an s3:// URL',
    "stateKmsKey": '"" or a KMS key ARN arn:aws:kms:<region>:<account>:key/<id> (not an alias)',
    "oidcProviderArn": '"" (create it) or arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com',
    "permissionsBoundaryArn": '"" or an IAM policy ARN arn:aws:iam::<account>:policy/<name>',
    "allowedEnvironments": "a list of GitHub environment names (letters, digits, _ . -)",
    "extraStacks": "a list of <stack>:<environment>, e.g. hybrid:staging (that environment's role deploys it)",
    "regions": "a list of AWS regions such as us-east-1; [] = any",
}


def _declared(path: Path = CI_PROJECT_FILE) -> dict[str, dict[str, Any]]:
    """`{key: declaration}` for every `deepseek-cloud-ci:` key in ci/Pulumi.yaml."""
    prefix = f"{CI_NAMESPACE}:"
    config = read_yaml(path)["config"]
    return {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}


def ci_defaults(path: Path = CI_PROJECT_FILE) -> dict[str, Any]:
    """`{key: default}` from ci/Pulumi.yaml, the one place they live (keys without one are required)."""
    return {key: decl["default"] for key, decl in _declared(path).items() if "default" in decl}


def read_ci_config() -> dict[str, Any]:
    """Every `deepseek-cloud-ci:` key the engine passed; arrays arrive as JSON text and are decoded."""
    from pulumi.runtime import config as runtime_config

    declared = _declared()
    config = pulumi.Config(CI_NAMESPACE)
    passed = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{CI_NAMESPACE}:"
    raw: dict[str, Any] = {k[len(prefix) :]: v for k, v in passed.items() if k.startswith(prefix)}
    for key, decl in declared.items():
        value = config.get(key)
        if value is None:
            continue
        if decl.get("type") == "array":
            with contextlib.suppress(json.JSONDecodeError):  # left as text: reported as the wrong type
                value = json.loads(value)
        raw[key] = value
    return raw


def _ci_problems(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        key = str(loc[0])
        path = key + "".join(f"[{part}]" for part in loc[1:] if isinstance(part, int))
        kind = item["type"]
        if kind == "extra_forbidden":
            keys = list(_ALLOWED)
            problems.append(
                Problem(key, "unknown key", key, ", ".join(keys), namespace=CI_NAMESPACE, hint=did_you_mean(key, keys))
            )
        elif kind == "missing":
            problems.append(Problem(key, "required key is missing", None, _ALLOWED[key], namespace=CI_NAMESPACE))
        else:
            reason = "wrong format" if kind == "string_pattern_mismatch" else "wrong type"
            problems.append(Problem(path, reason, item.get("input"), _ALLOWED[key], namespace=CI_NAMESPACE))
    return problems


def load_ci_config(raw: Mapping[str, Any] | None = None, stack: str | None = None) -> CiConfig:
    """Parse `deepseek-cloud-ci:*` (from the engine unless `raw` is given, keys without the namespace) over
    ci/Pulumi.yaml's defaults; raise one ConfigError listing every problem. Placeholders are refused in every
    stack but `example` (default: the running stack)."""
    given = read_ci_config() if raw is None else dict(raw)
    stack = pulumi.get_stack() if stack is None else stack
    merged = {**ci_defaults(), **given}
    config: CiConfig | None = None
    problems: list[Problem] = []
    try:
        config = CiConfig.model_validate(merged)
    except ValidationError as error:
        problems = _ci_problems(error)
    # A value still holding the example's placeholder gets one plain line instead of (or despite passing) its
    # format check: REPLACE-ME/deepseek-cloud is a well-formed repository that would trust nobody real.
    for key, value in merged.items():
        if stack == EXAMPLE_STACK:
            break
        if key in _ALLOWED and any(p.lower() in json.dumps(value).lower() for p in PLACEHOLDERS):
            problems = [p for p in problems if p.path.split("[")[0] != key]
            reason = "still the placeholder from Pulumi.example.yaml"
            problems.append(Problem(key, reason, value, _ALLOWED[key], namespace=CI_NAMESPACE))
    order = list(_ALLOWED)
    problems.sort(key=lambda p: order.index(p.path.split("[")[0]) if p.path.split("[")[0] in order else len(order))
    if problems:
        raise ConfigError(problems)
    assert config is not None
    return config
