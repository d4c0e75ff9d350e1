"""Endpoint: the public entrance to a vLLM server, whatever runs it (ECS tasks now, EKS pods later).

An Application Load Balancer (HTTPS when a certificate is given) with its security group (clients from
the allowed CIDRs only, out to the targets' security group on the server port), an IP target group
checking vLLM's /health, listeners that answer 404 except for the OpenAI API paths, and the S3 bucket
its access logs go to.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared import vllm
from components.shared.aws_scope import aws_scope
from components.shared.moves import moved
from components.shared.s3 import private_bucket
from components.shared.validation import ArgsProblems

# Security Hub ELB.17's sslPolicies parameter (not customizable) lists TLS 1.3-only, -Res- (restricted) and
# FIPS/PQ variants; ELBSecurityPolicy-TLS13-1-2-2021-06, the ALB guide's general recommendation, is not on it
# (https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-17, read 2026-12-01).
# -Res- keeps TLS 1.2 clients working with AEAD forward-secret ciphers only.
ELB_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
# The only paths the load balancer forwards: the OpenAI API, every route of which vLLM guards with
# VLLM_API_KEY. ALB path patterns are case-sensitive, `*` matches any characters (including /) and the
# query string is not part of the match (ALB user guide, "Listener rules", path conditions).
API_PATH_PATTERNS = ("/v1/*",)
API_RULE_PRIORITY = 100
NOT_FOUND_ACTION = {
    "type": "fixed-response",
    "fixed_response": {
        "content_type": "application/json",
        "message_body": '{"error":{"message":"not found","type":"invalid_request_error","code":404}}',
        "status_code": "404",
    },
}
CERT_ARN = re.compile(r"^arn:aws[\w-]*:acm:[\w-]+:\d{12}:certificate/[\w-]+$")

# ALB access logs: Regions that existed before August 2022 grant a regional Elastic Load Balancing
# account; newer Regions grant the log-delivery service principal instead (ALB user guide, "Enable
# access logs for your Application Load Balancer", step 2).
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-south-1": "718504428378",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
}
ELB_LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"
S3_ACCESS_LOG_PREFIX = "s3/"  # other buckets' server access logs (each under s3/<its name>/)


@dataclass(frozen=True)
class EndpointArgs:
    vpc_id: pulumi.Input[str] = ""
    subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)  # public subnets of the ALB
    target_security_group_id: pulumi.Input[str] = ""  # the replicas' group: the ALB may reach it on target_port
    target_port: int = vllm.PORT
    health_check: vllm.HealthTiming = vllm.LOAD_BALANCER_HEALTH
    allowed_cidrs: tuple[str, ...] = ()  # who may reach the ALB; empty admits nobody
    certificate_arn: str = ""  # ACM certificate: HTTPS on 443 (+ HTTP→HTTPS redirect); empty: HTTP on 80 only
    # With a certificate: also listen on 80 to redirect to HTTPS. API clients need no redirect (a key sent
    # over http:// has leaked before the redirect); prod listens on 443 only (ELB.18).
    http_redirect_listener: bool = True
    idle_timeout_seconds: int = 600  # long enough for a streamed reasoning answer between chunks/tokens
    # Spot notice is 120 s: ALB drain (deregistration delay) + container stop must finish inside it.
    deregistration_delay_seconds: int = 80
    deletion_protection: bool = False  # ALB deletion protection, retained log bucket without force_destroy
    protect: bool = False  # the access-log bucket protected and retained (prod)
    access_log_retention_days: int = 90
    # Internal (tiered serving: a tier behind the router): private subnets, no CIDR ingress (the router adds
    # its security group's rule), HTTP only inside the VPC.
    internal: bool = False
    health_check_path: str = vllm.HEALTH_PATH
    # The component these resources were declared under before this one existed (ModelService): each
    # carries Alias(parent=moved_from), so its URN resolves to the old one and nothing is replaced.
    moved_from: pulumi.Resource | None = None


def endpoint_problems(args: EndpointArgs) -> ArgsProblems:
    """Every problem with `args` (not raised: a parent component reports them with its own)."""
    problems = ArgsProblems("Endpoint")
    problems.check(0 <= args.deregistration_delay_seconds <= 3600, "deregistrationDelaySeconds", "ALB allows 0-3600")
    problems.check(1 <= args.idle_timeout_seconds <= 4000, "idleTimeoutSeconds", "ALB allows 1-4000 s")
    problems.check(
        not args.certificate_arn or bool(CERT_ARN.match(args.certificate_arn)),
        "certificateArn",
        "must be an ACM certificate ARN",
    )
    for i, cidr in enumerate(args.allowed_cidrs):
        try:
            ipaddress.IPv4Network(cidr)
        except ValueError:
            problems.check(False, f"allowedCidrs[{i}]", "must be an IPv4 CIDR block")
    return problems


class Endpoint(pulumi.ComponentResource):
    url: pulumi.Output[str]
    load_balancer_arn: pulumi.Output[str]
    load_balancer_arn_suffix: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    target_group_name: str  # logical name of the target group (plan and policy matching)
    security_group_id: pulumi.Output[str]
    access_log_bucket_id: pulumi.Output[str]
    listeners: list[pulumi.Resource]  # what a service registering targets should wait for

    def __init__(self, name: str, args: EndpointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:edge:Endpoint", name, None, opts)
        endpoint_problems(args).raise_if_any()
        self._child = pulumi.ResourceOptions(parent=self, aliases=moved(args.moved_from))
        security_group = self._security_group(name, args)
        log_bucket, log_policy = self._access_log_bucket(name, args)
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=args.internal,
            subnets=args.subnet_ids,
            security_groups=[security_group.id],
            drop_invalid_header_fields=True,  # no request smuggling through malformed headers (ELB.4)
            idle_timeout=args.idle_timeout_seconds,
            enable_deletion_protection=args.deletion_protection,
            access_logs={"bucket": log_bucket.id, "prefix": "alb", "enabled": True},  # a bucket's id is its name
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[log_policy])),
        )
        target_group = self._target_group(name, args)
        self.listeners = self._listeners(name, args, alb, target_group)
        scheme = "https" if args.certificate_arn else "http"
        self.url = pulumi.Output.concat(f"{scheme}://", alb.dns_name)
        self.load_balancer_arn = alb.arn  # what a web ACL (components/shared/web_acl.py) is associated with
        self.load_balancer_arn_suffix = alb.arn_suffix
        self.target_group_arn = target_group.arn
        self.target_group_arn_suffix = target_group.arn_suffix
        self.security_group_id = security_group.id
        self.access_log_bucket_id = log_bucket.id  # SSE-S3; also takes S3 server access logs under s3/
        self.register_outputs(
            {"url": self.url, "loadBalancerArn": self.load_balancer_arn, "targetGroupArn": self.target_group_arn}
        )

    def _security_group(self, name: str, args: EndpointArgs) -> aws.ec2.SecurityGroup:
        """Clients from the allowed CIDRs on the listener ports in; out only to the targets on their port."""
        group = aws.ec2.SecurityGroup(
            f"{name}-alb",
            vpc_id=args.vpc_id,
            description="vLLM load balancer: clients from the allowed CIDRs only",
            tags={"Name": f"{name}-alb", "deepseek:role": "load-balancer"},
            opts=self._child,
        )
        listener_ports = _listener_ports(args)
        for cidr in args.allowed_cidrs:
            for port in listener_ports:
                slug = cidr.replace(".", "-").replace("/", "-")
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-alb-in-{port}-{slug}",
                    security_group_id=group.id,
                    cidr_ipv4=cidr,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"Clients in {cidr} to the {'HTTPS' if port == 443 else 'HTTP'} listener",
                    opts=self._child,
                )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-to-tasks",
            security_group_id=group.id,
            referenced_security_group_id=args.target_security_group_id,
            ip_protocol="tcp",
            from_port=args.target_port,
            to_port=args.target_port,
            description="Load balancer to vLLM tasks (requests and /health checks)",
            opts=self._child,
        )
        return group

    def _target_group(self, name: str, args: EndpointArgs) -> aws.lb.TargetGroup:
        self.target_group_name = f"{name}-tg"
        timing = args.health_check
        return aws.lb.TargetGroup(
            self.target_group_name,
            target_type="ip",  # replicas register by their own address (awsvpc ENIs, pod IPs)
            port=args.target_port,
            protocol="HTTP",
            vpc_id=args.vpc_id,
            deregistration_delay=args.deregistration_delay_seconds,
            # Requests differ by orders of magnitude in length; send each to the least busy replica.
            load_balancing_algorithm_type="least_outstanding_requests",
            health_check={
                "enabled": True,
                "path": args.health_check_path,
                "port": "traffic-port",
                "protocol": "HTTP",
                "matcher": "200",
                "interval": timing.interval_seconds,
                "timeout": timing.timeout_seconds,
                "healthy_threshold": timing.healthy_threshold,
                "unhealthy_threshold": timing.unhealthy_threshold,
            },
            opts=self._child,
        )

    def _access_log_bucket(self, name: str, args: EndpointArgs) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
        """The bucket, its settings, and the policy letting ELB write into it (the ALB waits for it)."""
        bucket = aws.s3.Bucket(
            f"{name}-alb-logs",
            force_destroy=not args.deletion_protection,  # dev/staging logs go with the stack
            opts=pulumi.ResourceOptions.merge(
                self._child,
                pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect or args.deletion_protection),
            ),
        )
        _log_bucket_settings(name, bucket, args.access_log_retention_days, self._child)
        scope = aws_scope(self)
        account_id, region, partition = scope.account_id, scope.region, scope.partition
        policy = aws.s3.BucketPolicy(
            f"{name}-alb-logs",
            bucket=bucket.id,
            # A bucket's id is its name; S3 ARNs carry neither region nor account.
            policy=bucket.id.apply(
                lambda bucket_name: json.dumps(
                    access_log_bucket_policy(f"arn:{partition}:s3:::{bucket_name}", account_id, region, partition)
                )
            ),
            opts=self._child,
        )
        return bucket, policy

    def _listeners(
        self, name: str, args: EndpointArgs, alb: aws.lb.LoadBalancer, target_group: aws.lb.TargetGroup
    ) -> list[pulumi.Resource]:
        """The listener that serves (HTTPS, or HTTP without a certificate) answers every path with a fixed
        404 from the load balancer; one rule forwards the OpenAI API paths (API_PATH_PATTERNS) to vLLM.
        vLLM checks VLLM_API_KEY only on paths starting with /v1 (its api_server authentication
        middleware), so /invocations, /metrics, /tokenize, /version ... must never reach it (vLLM issues
        #58144, #18892). HTTP with a certificate only redirects to HTTPS, where the same rules apply."""
        serving = aws.lb.Listener(
            f"{name}-https" if args.certificate_arn else f"{name}-http",
            load_balancer_arn=alb.arn,
            default_actions=[NOT_FOUND_ACTION],
            opts=self._child,
            **(
                {
                    "port": 443,
                    "protocol": "HTTPS",
                    "ssl_policy": ELB_TLS_POLICY,  # TLS 1.3 and 1.2 with forward-secret ciphers only
                    "certificate_arn": args.certificate_arn,
                }
                if args.certificate_arn
                else {"port": 80, "protocol": "HTTP"}
            ),
        )
        api = aws.lb.ListenerRule(
            f"{name}-api",
            listener_arn=serving.arn,
            priority=API_RULE_PRIORITY,
            conditions=[{"path_pattern": {"values": list(API_PATH_PATTERNS)}}],
            actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            opts=self._child,
        )
        if not args.certificate_arn or not args.http_redirect_listener:
            return [serving, api]
        redirect = aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}
            ],
            opts=self._child,
        )
        return [serving, api, redirect]


def _listener_ports(args: EndpointArgs) -> tuple[int, ...]:
    """Ports the load balancer listens on (and its security group opens to the allowed CIDRs)."""
    if not args.certificate_arn:
        return (80,)
    return (80, 443) if args.http_redirect_listener else (443,)


def _log_bucket_settings(name: str, bucket: aws.s3.Bucket, retention_days: int, opts: pulumi.ResourceOptions) -> None:
    """Private, owner-enforced, SSE-S3, versioned, expiring: what an access-log bucket needs."""
    # ALB access logs support only SSE-S3 (ALB user guide, bucket requirements), not SSE-KMS.
    private_bucket(
        f"{name}-alb-logs", bucket, {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}, opts
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-alb-logs",
        bucket=bucket.id,
        rules=[
            {
                "id": "expire-access-logs",
                "status": "Enabled",
                "filter": {},
                "expiration": {"days": retention_days},
                "noncurrent_version_expiration": {"noncurrent_days": 7},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ],
        opts=opts,
    )


def access_log_bucket_policy(bucket_arn: str, account_id: str, region: str, partition: str) -> dict[str, Any]:
    """ELB may write this account's access logs under alb/, S3 its server access logs under s3/; nobody may
    use plain HTTP."""
    logs = f"{bucket_arn}/alb/AWSLogs/{account_id}/*"
    elb_account = ELB_LOG_ACCOUNTS.get(region)
    principal = (
        {"AWS": f"arn:{partition}:iam::{elb_account}:root"} if elb_account else {"Service": ELB_LOG_DELIVERY_PRINCIPAL}
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ElbAccessLogDelivery",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:PutObject",
                "Resource": logs,
            },
            {
                # S3 server access logs of this account's buckets (the model bucket) under s3/ (S3 user
                # guide, "Enabling Amazon S3 server access logging": the logging service principal, limited
                # to the source account; the target bucket must use SSE-S3, as this one does).
                "Sid": "S3ServerAccessLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{S3_ACCESS_LOG_PREFIX}*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
