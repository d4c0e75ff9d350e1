"""Adopted secrets encrypted with another customer-managed key: the execution role may decrypt with that
key (serving.secretsKmsKeyArns), through Secrets Manager only, or ECS cannot read them at task start."""

from __future__ import annotations

import json

import pytest

from components.ecs.task import execution_policy
from offline.harness import run_program
from stacks.errors import ConfigError

API_KEY = "arn:aws:secretsmanager:us-east-1:123456789012:secret:team/vllm-key-AbCdEf"
HF_TOKEN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:team/hf-token-GhIjKl"
TEAM_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ADOPTED = {
    "deepseek-cloud:serving.apiKeySecretArn": API_KEY,
    "deepseek-cloud:serving.hfTokenSecretArn": HF_TOKEN,
}


def decrypt_statement(run) -> dict:
    role = run.by_name("ds-dev-vllm-execution")
    policy = next(p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == role.name)
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    return statements["DecryptSecretsThroughSecretsManager"]


def test_adopted_secrets_key_is_granted_through_secrets_manager_only() -> None:
    run = run_program("dev", overrides={**ADOPTED, "deepseek-cloud:serving.secretsKmsKeyArns": [TEAM_KEY]})
    stack_key = run.one("aws:kms/key:Key").outputs["arn"]
    statement = decrypt_statement(run)
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Resource"] == sorted([stack_key, TEAM_KEY])
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    assert run.of_type("aws:secretsmanager/secret:Secret") == []  # both adopted: none created


def test_without_adopted_keys_only_the_stack_key_is_granted() -> None:
    run = run_program("dev", overrides=ADOPTED)
    assert decrypt_statement(run)["Resource"] == run.one("aws:kms/key:Key").outputs["arn"]


def test_execution_policy_lists_each_key_once() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/stack"
    policy = execution_policy("arn:log", ["arn:s"], key, "us-east-1", "vllm/vllm-openai:v0.31.0", (TEAM_KEY, key))
    [decrypt] = [s for s in policy["Statement"] if s["Action"] == "kms:Decrypt"]
    assert decrypt["Resource"] == [TEAM_KEY, key]


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (
            {"deepseek-cloud:serving.secretsKmsKeyArns": [TEAM_KEY]},
            "deepseek-cloud:serving.secretsKmsKeyArns: no adopted secret to decrypt: created secrets use the stack "
            f"key (got ['{TEAM_KEY}']; allowed: [] unless serving.apiKeySecretArn or serving.hfTokenSecretArn is set)",
        ),
        (
            {**ADOPTED, "deepseek-cloud:serving.secretsKmsKeyArns": [TEAM_KEY.replace("us-east-1", "eu-west-1")]},
            "deepseek-cloud:serving.secretsKmsKeyArns[0]: a key outside us-east-1 cannot encrypt a secret the "
            "us-east-1 tasks read (got arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab; "
            "allowed: a KMS key ARN in us-east-1)",
        ),
    ],
)
def test_bad_secret_keys_are_config_errors(overrides: dict, line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        run_program("dev", overrides=overrides)
    assert [str(p) for p in caught.value.problems] == [line]


def test_an_alias_is_not_a_key_arn() -> None:
    with pytest.raises(ConfigError) as caught:
        run_program(
            "dev",
            overrides={
                **ADOPTED,
                "deepseek-cloud:serving.secretsKmsKeyArns": ["arn:aws:kms:us-east-1:123456789012:alias/team"],
            },
        )
    [line] = [str(p) for p in caught.value.problems]
    assert line.startswith("deepseek-cloud:serving.secretsKmsKeyArns[0]: wrong format (got arn:aws:kms:us-east-1:")
