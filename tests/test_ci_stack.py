"""The `ci` project (ci/): its program run end to end under mocks, its config checks, and Dependabot's file."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.harness import run_program
from offline.mocks import PLACEHOLDER_ACCOUNT
from stacks.ci import CI_NAMESPACE, CiConfig, ci_defaults
from stacks.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CI_DIR = ROOT / "ci"
CI_MAIN = CI_DIR / "__main__.py"
PROJECT = "deepseek-cloud-ci"
REPO = "acme/deepseek-cloud"
ACCOUNT = "210987654321"
STATE_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/ds-boundary"
ROLE = "aws:iam/role:Role"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"


def ci_config(**keys: Any) -> dict[str, Any]:
    """What the CLI would hand the program: only what Pulumi.ci.yaml sets (keys without the namespace)."""
    values: dict[str, Any] = {"aws:region": "us-east-1", f"{CI_NAMESPACE}:repository": REPO}
    values.update({f"{CI_NAMESPACE}:{key}": value for key, value in keys.items()})
    return {k: v for k, v in values.items() if v is not None}


def run_ci(**keys: Any):
    return run_program("ci", config=ci_config(**keys), main=CI_MAIN, project=PROJECT)


def trust(run, role: str) -> dict:
    policy = json.loads(run.by_name(f"deepseek-ci-{role}").inputs["assumeRolePolicy"])
    (statement,) = policy["Statement"]
    return statement


def config_error(**keys: Any) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        run_ci(**keys)
    lines = str(raised.value).splitlines()
    assert lines[0] == f"{len(raised.value.problems)} problem(s) in the stack config:"
    return lines[1:]


# --- the program, end to end -------------------------------------------------------------------------


def test_creates_githubs_oidc_provider_for_sts():
    run = run_ci()
    provider = run.one(OIDC_PROVIDER)
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert provider.urn.startswith(f"urn:pulumi:ci::{PROJECT}::")


def test_roles_trust_exactly_the_repositorys_subjects():
    run = run_ci()
    provider_arn = run.outputs["oidcProviderArn"]
    deploy, preview = trust(run, "deploy-prod"), trust(run, "preview")
    for statement in (deploy, preview):
        assert statement["Principal"] == {"Federated": provider_arn}
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    for env in ("dev", "staging", "prod"):
        assert trust(run, f"deploy-{env}")["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
            f"repo:acme/deepseek-cloud:environment:{env}"
        ]
    assert preview["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        "repo:acme/deepseek-cloud:ref:refs/heads/main",
        "repo:acme/deepseek-cloud:pull_request",
    ]


def test_exports_the_role_arns_for_the_github_variables():
    run = run_ci()
    assert set(run.outputs) == {"oidcProviderArn", "previewRoleArn", "deployRoleArns"}
    assert run.outputs["previewRoleArn"] == run.by_name("deepseek-ci-preview").outputs["arn"]
    assert set(run.outputs["deployRoleArns"]) == {"dev", "staging", "prod"}
    for env, arn in run.outputs["deployRoleArns"].items():
        assert arn == run.by_name(f"deepseek-ci-deploy-{env}").outputs["arn"]
        # IAM ARNs carry no region and keep the role's path (arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}).
        assert re.fullmatch(
            rf"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/github-ci/deepseek-ci-deploy-{env}-[0-9a-f]{{7}}", arn
        )
    preview = rf"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/github-ci/deepseek-ci-preview-[0-9a-f]{{7}}"
    assert re.fullmatch(preview, run.outputs["previewRoleArn"])
    assert {r.inputs["path"] for r in run.of_type(ROLE)} == {"/github-ci/"}


def test_config_reaches_the_roles():
    run = run_ci(
        repository="Acme-Corp/DeepSeek-Cloud",
        allowedEnvironments=json.dumps(["dev", "prod"]),  # arrays arrive from the engine as JSON text
        oidcProviderArn=PROVIDER_ARN,
        stateBucket="acme-pulumi-state",
        stateKmsKey=STATE_KEY,
        permissionsBoundaryArn=BOUNDARY_ARN,
        regions=json.dumps(["us-east-1"]),
    )
    # An existing provider is adopted, not created, and its ARN (with its account) is what the roles trust.
    assert run.of_type(OIDC_PROVIDER) == []
    assert run.outputs["oidcProviderArn"] == PROVIDER_ARN
    deploy = trust(run, "deploy-dev")
    assert deploy["Principal"] == {"Federated": PROVIDER_ARN}
    assert deploy["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        "repo:Acme-Corp/DeepSeek-Cloud:environment:dev"
    ]
    assert set(run.outputs["deployRoleArns"]) == {"dev", "prod"}
    preview = {s["Sid"]: s for s in json.loads(run.by_name("deepseek-ci-preview-read").inputs["policy"])["Statement"]}
    assert preview["StateObjects"]["Resource"] == "arn:aws:s3:::acme-pulumi-state/.pulumi/stacks/deepseek-cloud/*"
    assert preview["StateSecrets"]["Resource"] == STATE_KEY
    identity = {
        s["Sid"]: s for s in json.loads(run.by_name("deepseek-ci-deploy-prod-identity").inputs["policy"])["Statement"]
    }
    boundary = identity["IamProjectRolesWithBoundary"]["Condition"]
    assert boundary == {"ArnEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}
    network = {
        s["Sid"]: s for s in json.loads(run.by_name("deepseek-ci-deploy-dev-network").inputs["policy"])["Statement"]
    }
    assert network["Ec2Build"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["us-east-1"]}}


# --- config ------------------------------------------------------------------------------------------


def test_bad_config_is_one_error_with_a_line_per_problem():
    lines = config_error(
        repository="deepseek-cloud",  # no owner
        oidcProviderArn="arn:aws:iam::123:oidc-provider/example.com",
        stateKmsKey="alias/deepseek-cloud-state",
        permissionsBoundaryArn="ds-boundary",
        allowedEnvironments=json.dumps(["dev", "pr*"]),
        regions=json.dumps(["mars-1"]),
    )
    assert [line.split(": ", 1)[0] for line in lines] == [
        "deepseek-cloud-ci:repository",
        "deepseek-cloud-ci:stateKmsKey",
        "deepseek-cloud-ci:oidcProviderArn",
        "deepseek-cloud-ci:permissionsBoundaryArn",
        "deepseek-cloud-ci:allowedEnvironments[1]",
        "deepseek-cloud-ci:regions[0]",
    ]
    assert lines[0] == (
        "deepseek-cloud-ci:repository: wrong format (got deepseek-cloud; "
        "allowed: owner/name exactly as GitHub spells it, e.g. acme/deepseek-cloud)"
    )
    assert "(got arn:aws:iam::123:oidc-provider/example.com; allowed: " in lines[2]


def test_missing_repository_and_wrong_types_and_typos_are_reported():
    lines = config_error(repository=None, regions="us-east-1", stateBuckt="acme-pulumi-state")
    assert lines == [
        "deepseek-cloud-ci:repository: required key is missing "
        "(got nothing; allowed: owner/name exactly as GitHub spells it, e.g. acme/deepseek-cloud)",
        "deepseek-cloud-ci:regions: wrong type "
        "(got us-east-1; allowed: a list of AWS regions such as us-east-1; [] = any)",
        "deepseek-cloud-ci:stateBuckt: unknown key (got stateBuckt; allowed: repository, stateBucket, stateKmsKey, "
        "oidcProviderArn, permissionsBoundaryArn, allowedEnvironments, extraStacks, regions); "
        "did you mean 'stateBucket'?",
    ]


def test_the_example_plans_as_stack_example_and_is_refused_elsewhere_until_its_placeholders_are_replaced():
    example = yaml.safe_load((CI_DIR / "Pulumi.example.yaml").read_text())["config"]
    wire = {k: json.dumps(v) if isinstance(v, list) else v for k, v in example.items()}
    planned = run_program("example", config=wire, main=CI_MAIN, project=PROJECT)
    assert set(planned.outputs["deployRoleArns"]) == {"dev", "staging", "prod"}
    with pytest.raises(ConfigError) as raised:
        run_program("ci", config=example, main=CI_MAIN, project=PROJECT)
    assert [p.path for p in raised.value.problems] == [
        "repository",
        "stateBucket",
        "stateKmsKey",
        "oidcProviderArn",
        "permissionsBoundaryArn",
    ]
    assert all("placeholder" in p.reason for p in raised.value.problems)
    filled = {
        key: json.dumps(value)
        if isinstance(value, list)
        else value.replace("replace-me-pulumi-state", "acme-pulumi-state")
        .replace("REPLACE-ME/", "acme/")
        .replace("key/REPLACE-ME", "key/1234abcd-12ab-34cd-56ef-1234567890ab")
        .replace("REPLACE-ME", "ds-boundary")
        .replace("111122223333", ACCOUNT)
        for key, value in example.items()
    }
    run = run_program("ci", config=filled, main=CI_MAIN, project=PROJECT)
    assert run.outputs["oidcProviderArn"] == PROVIDER_ARN
    assert trust(run, "deploy-prod")["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        "repo:acme/deepseek-cloud:environment:prod"
    ]


def test_project_file_declares_every_key_once_with_a_description():
    project = yaml.safe_load((CI_DIR / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "../venv"}}
    declared = project["config"]
    assert set(declared) == {f"{CI_NAMESPACE}:{f.alias}" for f in CiConfig.model_fields.values()}
    assert all(decl.get("description") for decl in declared.values())
    assert "default" not in declared[f"{CI_NAMESPACE}:repository"]  # required: the CLI refuses to run without it
    assert ci_defaults() == {
        "stateBucket": "",
        "stateKmsKey": "",
        "oidcProviderArn": "",
        "permissionsBoundaryArn": "",
        "allowedEnvironments": ["dev", "staging", "prod"],
        "extraStacks": [],
        "regions": [],
    }
    for key in ("allowedEnvironments", "extraStacks", "regions"):
        assert declared[f"{CI_NAMESPACE}:{key}"]["type"] == "array"
        assert declared[f"{CI_NAMESPACE}:{key}"]["items"] == {"type": "string"}
    assert (CI_DIR / "requirements.txt").read_text().split() == ["-r", "../requirements.txt"]


# --- Dependabot --------------------------------------------------------------------------------------


def check_dependabot(path: Path) -> subprocess.CompletedProcess:
    """`python -m check_jsonschema` on `path`, run in this process (click's runner)."""
    from check_jsonschema import main
    from click.testing import CliRunner

    args = ["--builtin-schema", "vendor.dependabot", str(path)]
    result = CliRunner().invoke(main, args)
    return subprocess.CompletedProcess(["check-jsonschema", *args], result.exit_code, result.stdout, result.stderr)


def test_dependabot_config_matches_the_schema_and_covers_actions_and_pip():
    path = ROOT / ".github" / "dependabot.yml"
    result = check_dependabot(path)
    assert result.returncode == 0, result.stdout + result.stderr
    updates = {u["package-ecosystem"]: u for u in yaml.safe_load(path.read_text())["updates"]}
    assert set(updates) == {"github-actions", "pip"}
    assert all(u["directory"] == "/" and u["schedule"]["interval"] == "weekly" for u in updates.values())


def test_dependabot_schema_check_rejects_a_broken_file(tmp_path: Path):
    broken = tmp_path / "dependabot.yml"
    valid = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    valid["updates"][0]["schedule"]["interval"] = "sometimes"
    broken.write_text(yaml.safe_dump(valid))
    assert check_dependabot(broken).returncode != 0
