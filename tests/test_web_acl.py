"""The WAF web ACL: where it is planned, what it contains, and that AWS's own model (botocore wafv2
CreateWebACL) accepts it. Config problems are reported one line each, like every other key."""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import pytest

from components.shared.web_acl import BODY_OVERHEAD_BYTES, REGEX_MAX_LENGTH, body_limit_bytes, greater_than_regex
from offline.harness import ProgramRun, platform_stacks, shared_run, stack_config
from stacks.config import _parse_sections, with_defaults
from tests.test_config import only_line, problems_for
from tests.test_ecs_validation import as_api, input_shape, shape_problems

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
LB = "aws:lb/loadBalancer:LoadBalancer"


def create_web_acl_params(run: ProgramRun) -> dict[str, Any]:
    """Engine inputs → CreateWebACL params. The one member whose PascalCase is not the camelCase with a
    capital first letter: visibility configs' CloudWatchMetricsEnabled."""
    inputs = dict(run.one(WEB_ACL).inputs)
    tags = inputs.pop("tags", {})
    params = _fix_names(as_api(inputs))
    params["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return params


def _fix_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            ("CloudWatchMetricsEnabled" if k == "CloudwatchMetricsEnabled" else k): _fix_names(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_fix_names(v) for v in value]
    return value


def rules(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in run.one(WEB_ACL).inputs["rules"]}


# -- where -------------------------------------------------------------------------------------------


def test_prod_has_a_regional_web_acl_associated_with_its_load_balancer() -> None:
    run = shared_run("prod")
    acl = run.one(WEB_ACL)
    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    association = run.one(ASSOCIATION).inputs
    assert association["resourceArn"] == run.one(LB).outputs["arn"]
    assert association["webAclArn"] == acl.outputs["arn"]
    assert run.outputs["webAclArn"] == acl.outputs["arn"]
    component = next(r for r in run.registrations if r.type == "deepseek:edge:WebAcl")
    assert acl.parent == component.urn


def test_the_web_acl_logs_to_an_encrypted_aws_waf_logs_group_with_the_api_key_redacted() -> None:
    """WAF.11: the name prefix AWS WAF requires, the stack key, prod's retention; the key is never logged."""
    run = shared_run("prod")
    logging = run.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration").inputs
    group = next(
        g for g in run.of_type("aws:cloudwatch/logGroup:LogGroup") if g.inputs["name"] == "aws-waf-logs-ds-prod-waf"
    )
    assert logging["resourceArn"] == run.one(WEB_ACL).outputs["arn"]
    assert logging["logDestinationConfigs"] == [group.outputs["arn"]]
    assert not group.outputs["arn"].endswith(":*")  # WAF wants the group's ARN without the ":*" suffix
    assert logging["redactedFields"] == [{"singleHeader": {"name": "authorization"}}]
    assert group.inputs["kmsKeyId"] == run.one("aws:kms/key:Key").outputs["arn"]
    assert group.inputs["retentionInDays"] == 365 and group.protect
    params = {
        "LoggingConfiguration": {
            "ResourceArn": logging["resourceArn"],
            "LogDestinationConfigs": logging["logDestinationConfigs"],
            "RedactedFields": as_api(logging["redactedFields"]),
        }
    }
    assert shape_problems(params, input_shape("wafv2", "PutLoggingConfiguration")) == []
    dev = shared_run("dev", {"deepseek-cloud:serving.waf.enabled": True})
    dev_group = next(
        g for g in dev.of_type("aws:cloudwatch/logGroup:LogGroup") if g.inputs["name"].startswith("aws-waf")
    )
    assert (dev_group.inputs["name"], dev_group.inputs["retentionInDays"]) == ("aws-waf-logs-ds-dev-waf", 30)


@pytest.mark.parametrize(
    "stack,overrides,planned",
    [
        ("dev", {}, False),  # auto: prod only
        ("staging", {}, False),
        ("dev", {"deepseek-cloud:serving.waf.enabled": True}, True),
        ("prod", {"deepseek-cloud:serving.waf.enabled": False}, False),
    ],
)
def test_enabled_auto_means_prod_only_and_any_stack_can_opt_in(stack: str, overrides: dict, planned: bool) -> None:
    run = shared_run(stack, overrides)
    assert (len(run.of_type(WEB_ACL)), len(run.of_type(ASSOCIATION))) == ((1, 1) if planned else (0, 0))


# -- what --------------------------------------------------------------------------------------------


def test_rules_rate_limit_common_rule_set_and_body_size_with_metrics_and_samples() -> None:
    run = shared_run("prod")
    found = rules(run)
    assert [r["name"] for r in sorted(found.values(), key=lambda r: r["priority"])] == [
        "rate-per-ip",
        "body-larger-than-context",
        "aws-common",
    ]
    rate = found["rate-per-ip"]
    assert rate["statement"]["rateBasedStatement"] == {
        "limit": 500,
        "aggregateKeyType": "IP",
        "evaluationWindowSec": 300,
    }
    assert rate["action"] == {"block": {"customResponse": {"responseCode": 429}}}
    common = found["aws-common"]
    group = common["statement"]["managedRuleGroupStatement"]
    assert (group["vendorName"], group["name"]) == ("AWS", "AWSManagedRulesCommonRuleSet")
    # SizeRestrictions_BODY blocks every body over 8 KB: most prompts. It only counts here.
    assert group["ruleActionOverrides"] == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]
    assert common["overrideAction"] == {"none": {}}
    for rule in [*found.values(), run.one(WEB_ACL).inputs]:
        visibility = rule["visibilityConfig"]
        assert visibility["cloudwatchMetricsEnabled"] is True and visibility["sampledRequestsEnabled"] is True


# One dev run for both limits set in config: they land in different rules, and each differs from what dev
# would get without it (500 a 5 minutes; the body limit sized from dev's context).
LIMITS = {"deepseek-cloud:serving.waf": {"enabled": True, "rateLimitPer5Min": 1200, "maxBodyBytes": 300000}}


def test_rate_limit_comes_from_config() -> None:
    run = shared_run("dev", LIMITS)
    assert rules(run)["rate-per-ip"]["statement"]["rateBasedStatement"]["limit"] == 1200


def test_body_limit_is_sized_from_the_models_context() -> None:
    # prod: maxModelLen 32768 x 24 bytes a token + 64 KiB
    assert body_limit_bytes(32768) == 32768 * 24 + BODY_OVERHEAD_BYTES == 851968
    statement = rules(shared_run("prod"))["body-larger-than-context"]["statement"]["regexMatchStatement"]
    assert statement["fieldToMatch"] == {"singleHeader": {"name": "content-length"}}
    assert statement["regexString"] == greater_than_regex(851968)
    pattern = re.compile(statement["regexString"])
    assert pattern.search("851969") and pattern.search("10000000") and pattern.search("0000900000")
    assert not pattern.search("851968") and not pattern.search("8192") and not pattern.search("0")


def test_body_limit_from_config_overrides_the_sizing() -> None:
    run = shared_run("dev", LIMITS)
    regex = rules(run)["body-larger-than-context"]["statement"]["regexMatchStatement"]["regexString"]
    assert regex == greater_than_regex(300000)


@pytest.mark.parametrize("limit", [8193, 99999, 100000, 262144, 458752, 851968, 999999, 1234567890])
def test_greater_than_regex_matches_exactly_the_larger_numbers(limit: int) -> None:
    regex = greater_than_regex(limit)
    assert len(regex) <= REGEX_MAX_LENGTH
    assert "(" not in regex  # AWS WAF supports no capturing subexpressions
    pattern = re.compile(regex)
    rng = random.Random(limit)
    samples = {
        *range(max(0, limit - 300), limit + 300),
        0,
        1,
        limit * 10,
        *(rng.randrange(0, limit * 20) for _ in range(3000)),
    }
    for n in sorted(samples):
        assert bool(pattern.search(str(n))) == (n > limit), (limit, n)
    assert not pattern.search(f"{limit + 1}x") and not pattern.search(f"-{limit + 1}")


# -- AWS's model accepts it ----------------------------------------------------------------------------


def waf_stacks() -> list[str]:
    """ECS stacks whose config plans a web ACL (serving.waf.enabled; auto = prod), read from the config alone:
    no program run while pytest collects. test_enabled_auto_means_prod_only... checks the program agrees."""
    found = []
    for stack in platform_stacks("ecs"):
        raw = {k.split(":", 1)[1]: v for k, v in stack_config(stack).items() if k.startswith("deepseek-cloud:")}
        sections, problems, _ = _parse_sections(with_defaults(raw))
        assert problems == [], problems
        if sections["serving"].waf.enabled_in(sections["environment"]):
            found.append(stack)
    return found


@pytest.mark.parametrize("stack", waf_stacks())
def test_web_acl_matches_create_web_acl(stack: str) -> None:
    assert len(shared_run(stack).of_type(WEB_ACL)) == 1
    params = create_web_acl_params(shared_run(stack))
    assert params["Rules"], "no rules"
    assert shape_problems(params, input_shape("wafv2", "CreateWebACL")) == []
    for rule in params["Rules"]:
        regex = rule["Statement"].get("RegexMatchStatement", {}).get("RegexString", "")
        assert len(regex) <= REGEX_MAX_LENGTH


def test_the_create_web_acl_check_can_fail() -> None:
    params = create_web_acl_params(shared_run("prod"))
    shape = input_shape("wafv2", "CreateWebACL")
    bad = copy.deepcopy(params)
    bad["Rules"][0]["Statement"]["RateBasedStatement"]["AggregateKeyType"] = "SOURCE_IP"
    assert any("SOURCE_IP" in p for p in shape_problems(bad, shape))
    bad = copy.deepcopy(params)
    del bad["Rules"][2]["VisibilityConfig"]
    assert any("VisibilityConfig" in p for p in shape_problems(bad, shape))
    bad = copy.deepcopy(params)
    bad["Rules"][2]["OverrideAction"] = {"Nothing": {}}
    assert any("Nothing" in p for p in shape_problems(bad, shape))
    # without the CloudWatchMetricsEnabled rename the camelCase name is an unknown member
    assert shape_problems(as_api(dict(shared_run("prod").one(WEB_ACL).inputs, tags=None)), shape)


# -- config --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,path,fragment",
    [
        ({"deepseek-cloud:serving.waf.enabled": "yes"}, "serving.waf.enabled", "auto, True, False"),
        ({"deepseek-cloud:serving.waf.rateLimitPer5Min": 5}, "serving.waf.rateLimitPer5Min", "10–2000000000"),
        ({"deepseek-cloud:serving.waf.maxBodyBytes": 9000}, "serving.waf.maxBodyBytes", "≥ 32768"),
        (
            {"deepseek-cloud:serving.waf.countRules": ["SizeRestrictions_Body"]},
            "serving.waf.countRules[0]",
            "did you mean 'SizeRestrictions_BODY'",
        ),
        ({"deepseek-cloud:serving.waf.rateLimit": 100}, "serving.waf.rateLimit", "rateLimitPer5Min"),
    ],
)
def test_bad_waf_values_are_one_line_each(overrides: dict, path: str, fragment: str) -> None:
    line = only_line(problems_for(overrides), f"deepseek-cloud:{path}")
    assert fragment in line and "(got " in line, line
