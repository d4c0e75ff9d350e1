"""WebAcl: an AWS WAFv2 web ACL (scope REGIONAL) in front of the vLLM load balancer.

Rules, in evaluation order (lowest priority first; the first terminating action wins):

1. `rate-per-ip` — a rate-based rule: a client IP above `rate_limit_per_5min` requests in a 5-minute
   window gets 429 until its rate drops (AWS WAF developer guide, "Rate-based rule high-level settings":
   window 60/120/300/600 s, lowest limit 10). Default 500: the blanket per-IP limit AWS's "Best
   Practices for DDoS Resiliency" whitepaper ("AWS WAF – Rate-based rules") takes as its example. For an
   LLM API it is ~1.7 requests/s per IP: about one replica's worth of long reasoning requests (prod
   targets 2 requests/s per replica), so one client cannot take the whole pool.
2. `body-larger-than-context` — 413 for a request whose Content-Length exceeds `max_body_bytes`. WAF can
   see only the first 8 KB of a body behind an ALB (fixed for ALB; "Considerations for managing body
   inspection in AWS WAF"), so a body-size statement cannot measure a prompt; the Content-Length header
   can. The limit is sized from the model's context (stacks/ecs.py); requests without the header
   (chunked, or HTTP/2 without it) pass to vLLM, which refuses an over-long prompt itself (docs/ecs.md).
3. `aws-common` — AWSManagedRulesCommonRuleSet, with SizeRestrictions_BODY (blocks any body > 8 KB, i.e.
   most real prompts) overridden to Count (plus any other rule in `count_rules`).

Default action Allow; CloudWatch metrics and sampled requests on for the ACL and every rule.
About 706 WCUs (common rule set 700 + rate 2 + regex 3 + ...), under the 1,500 included in the base price.

Logging (Security Hub WAF.11): every request the ACL inspects, with the rule that matched and the action, into a
CloudWatch Logs group whose name starts with `aws-waf-logs-` (the name AWS WAF requires of any destination:
PutLoggingConfiguration API reference), encrypted with the stack key (its policy lets CloudWatch Logs use it for
this account's log groups) and kept for the environment's retention. WAF logs the request headers: the
`authorization` header (the clients' API key) is redacted (RedactedFields SingleHeader). WAF writes the log
group's resource policy itself when logging is enabled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared.validation import ArgsProblems

COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
ALB_BODY_INSPECTION_BYTES = 8192  # fixed for ALB (AWS WAF developer guide, body inspection limits)
RATE_WINDOW_SECONDS = 300
MIN_RATE_LIMIT = 10  # AWS WAF's lowest rate limit
MAX_RATE_LIMIT = 2_000_000_000  # CreateWebACL API reference, RateBasedStatement.Limit
REGEX_MAX_LENGTH = 512  # CreateWebACL API reference, RegexMatchStatement.RegexString
# Sizing the Content-Length limit from the context (tokens) a request may fill. A rule of thumb is ~4
# bytes of English per token (OpenAI, "What are tokens and how to count them?"); JSON clients escape
# non-ASCII as \uXXXX (6 bytes a character; Python's json.dumps default), and a CJK token spans 1-3
# characters, so a Chinese prompt that fits can reach ~12-18 bytes a token. The limit refuses only bodies
# no fitting prompt plausibly reaches; vLLM refuses the exact overflow after tokenizing.
MIN_BODY_BYTES_PER_TOKEN = 4  # below this, a limit refuses plain English prompts that fit (config error)
BODY_BYTES_PER_TOKEN = 24
BODY_OVERHEAD_BYTES = 64 * 1024  # messages structure, sampling parameters, tools, response_format


def body_limit_bytes(max_model_len: int) -> int:
    """The Content-Length above which a request cannot hold a prompt that fits `max_model_len` tokens."""
    return max_model_len * BODY_BYTES_PER_TOKEN + BODY_OVERHEAD_BYTES


LOG_GROUP_PREFIX = "aws-waf-logs-"  # required of every WAF logging destination's name
REDACTED_HEADER = "authorization"  # the clients' bearer API key
METRIC_NAME = re.compile(r"^[\w#:.\-/]{1,200}$")
# Rules of AWSManagedRulesCommonRuleSet (AWS WAF developer guide, "Core rule set (CRS) managed rule group").
COMMON_RULES = frozenset(
    {
        "NoUserAgent_HEADER",
        "UserAgent_BadBots_HEADER",
        "SizeRestrictions_QUERYSTRING",
        "SizeRestrictions_Cookie_HEADER",
        "SizeRestrictions_BODY",
        "SizeRestrictions_URIPATH",
        "EC2MetaDataSSRF_BODY",
        "EC2MetaDataSSRF_COOKIE",
        "EC2MetaDataSSRF_URIPATH",
        "EC2MetaDataSSRF_QUERYARGUMENTS",
        "GenericLFI_QUERYARGUMENTS",
        "GenericLFI_URIPATH",
        "GenericLFI_BODY",
        "RestrictedExtensions_URIPATH",
        "RestrictedExtensions_QUERYARGUMENTS",
        "GenericRFI_QUERYARGUMENTS",
        "GenericRFI_BODY",
        "GenericRFI_URIPATH",
        "CrossSiteScripting_COOKIE",
        "CrossSiteScripting_QUERYARGUMENTS",
        "CrossSiteScripting_BODY",
        "CrossSiteScripting_URIPATH",
    }
)


@dataclass(frozen=True)
class WebAclArgs:
    resource_arn: pulumi.Input[str] = ""  # the load balancer to protect
    rate_limit_per_5min: int = 500  # requests per client IP per 5 minutes
    max_body_bytes: int = 0  # Content-Length above this gets 413; 0 = no such rule
    count_rules: tuple[str, ...] = ("SizeRestrictions_BODY",)  # common rule set rules that only count
    metric_prefix: str = "deepseek"  # CloudWatch metric names <prefix>-<rule>
    log_group_name: str = ""  # aws-waf-logs-<...>: the ACL logs there (WAF.11); "" = no logging
    log_retention_days: int = 30
    kms_key_arn: pulumi.Input[str] = ""  # the log group's key
    protect: bool = False  # the log group (prod)


def greater_than_regex(limit: int) -> str:
    """A regular expression matching the decimal integers (leading zeros allowed) greater than `limit`.

    Top-level alternation only: AWS WAF regexes do not support capturing subexpressions (AWS WAF
    developer guide, "Supported regular expression syntax")."""
    digits = str(limit)
    width = len(digits)
    branches = [f"^0*[1-9][0-9]{{{width},}}$"]  # more digits
    for i, d in enumerate(digits):  # same width: equal prefix, then a larger digit
        if d != "9":
            low = int(d) + 1
            larger = f"[{low}-9]" if low < 9 else "9"
            rest = width - i - 1
            tail = f"[0-9]{{{rest}}}" if rest > 1 else "[0-9]" * rest
            branches.append(f"^0*{digits[:i]}{larger}{tail}$")
    return "|".join(branches)


def _visibility(metric: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True, "metric_name": metric}


def web_acl_rules(args: WebAclArgs) -> list[dict[str, Any]]:
    """The web ACL's rules as pulumi-aws inputs (pure; validated against botocore's CreateWebACL)."""
    rules: list[dict[str, Any]] = [
        {
            "name": "rate-per-ip",
            "priority": 0,
            "action": {"block": {"custom_response": {"response_code": 429}}},
            "statement": {
                "rate_based_statement": {
                    "limit": args.rate_limit_per_5min,
                    "aggregate_key_type": "IP",
                    "evaluation_window_sec": RATE_WINDOW_SECONDS,
                }
            },
            "visibility_config": _visibility(f"{args.metric_prefix}-rate-per-ip"),
        }
    ]
    if args.max_body_bytes:
        rules.append(
            {
                "name": "body-larger-than-context",
                "priority": 1,
                "action": {"block": {"custom_response": {"response_code": 413}}},
                "statement": {
                    "regex_match_statement": {
                        "regex_string": greater_than_regex(args.max_body_bytes),
                        "field_to_match": {"single_header": {"name": "content-length"}},
                        "text_transformations": [{"priority": 0, "type": "NONE"}],
                    }
                },
                "visibility_config": _visibility(f"{args.metric_prefix}-body-larger-than-context"),
            }
        )
    rules.append(
        {
            "name": "aws-common",
            "priority": 2,
            "override_action": {"none": {}},
            "statement": {
                "managed_rule_group_statement": {
                    "vendor_name": "AWS",
                    "name": COMMON_RULE_SET,
                    "rule_action_overrides": [
                        {"name": rule, "action_to_use": {"count": {}}} for rule in sorted(args.count_rules)
                    ],
                }
            },
            "visibility_config": _visibility(f"{args.metric_prefix}-aws-common"),
        }
    )
    return rules


class WebAcl(pulumi.ComponentResource):
    web_acl_arn: pulumi.Output[str]

    def __init__(self, name: str, args: WebAclArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:edge:WebAcl", name, None, opts)
        _validate(args)
        child = pulumi.ResourceOptions(parent=self)
        acl = aws.wafv2.WebAcl(
            name,
            name=name,
            scope="REGIONAL",
            description="vLLM OpenAI API: per-IP rate limit, oversized bodies, AWS common rule set",
            default_action={"allow": {}},
            rules=web_acl_rules(args),
            visibility_config=_visibility(f"{args.metric_prefix}-web-acl"),
            opts=child,
        )
        aws.wafv2.WebAclAssociation(name, resource_arn=args.resource_arn, web_acl_arn=acl.arn, opts=child)
        if args.log_group_name:
            self._logging(name, args, acl)
        self.web_acl_arn = acl.arn
        self.register_outputs({"webAclArn": acl.arn})

    def _logging(self, name: str, args: WebAclArgs, acl: aws.wafv2.WebAcl) -> None:
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=acl.arn,
            log_destination_configs=[log_group.arn],  # the provider's `arn` has no ":*" suffix, as WAF wants
            redacted_fields=[{"single_header": {"name": REDACTED_HEADER}}],
            opts=pulumi.ResourceOptions(parent=self),
        )


def _validate(args: WebAclArgs) -> None:
    problems = ArgsProblems("WebAcl")
    problems.check(bool(args.resource_arn), "resourceArn", "is required (the load balancer to protect)")
    problems.check(
        MIN_RATE_LIMIT <= args.rate_limit_per_5min <= MAX_RATE_LIMIT,
        "rateLimitPer5Min",
        f"AWS WAF allows {MIN_RATE_LIMIT}-{MAX_RATE_LIMIT}",
    )
    problems.check(
        args.max_body_bytes == 0 or args.max_body_bytes > ALB_BODY_INSPECTION_BYTES,
        "maxBodyBytes",
        f"must be 0 (no rule) or above {ALB_BODY_INSPECTION_BYTES}",
    )
    unknown = sorted(set(args.count_rules) - COMMON_RULES)
    problems.check(not unknown, "countRules", f"not rules of {COMMON_RULE_SET}: {', '.join(unknown)}")
    problems.check(bool(METRIC_NAME.match(args.metric_prefix)), "metricPrefix", "letters, digits and #:.-/_ only")
    problems.check(
        not args.log_group_name or args.log_group_name.startswith(LOG_GROUP_PREFIX),
        "logGroupName",
        f"AWS WAF logs only to a log group named {LOG_GROUP_PREFIX}...",
    )
    problems.raise_if_any()
