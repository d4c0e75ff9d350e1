"""InferenceAlarms: the alarms, notification topic and capacity events that tell on-call an endpoint hurts.

What it watches (every alarm's description says what to do; docs/alarms.md is the longer runbook):

- ALB: 5XX share of requests, p99 target response time, unhealthy targets, and — only when the service
  keeps at least one replica — no healthy target at all.
- ECS: running tasks below desired for longer than a replica takes to start (Container Insights).
- GPU pool: in-service instances below the pool minimum (only when the minimum is above zero; needs the
  ASG's group metrics enabled), GPU utilization high (saturation) and low (waste) from the CloudWatch
  agent (components/shared/cloudwatch_agent.py).
- EventBridge: GPU launch failures for this ASG (insufficient capacity, quota), spot interruption warnings
  and rebalance recommendations, sent to the topic as one readable line.
- A composite "service degraded" alarm over the user-facing ones.

Severity decides the actions: "page" alarms notify on ALARM and on OK (on-call sees recovery), "notify"
alarms on ALARM only, "advisory" alarms have no actions (visible on the dashboard and console). GPU waste
is "notify" in prod (idle GPUs are real money) and "advisory" elsewhere (dev idles by design).

The topic follows awsx's shape: created by default (KMS-encrypted with the stack key), adopted by ARN
(nothing created; its owner manages its policy and key), or skipped (alarms notify nobody).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.shared import cloudwatch_agent
from components.shared.aws_scope import aws_scope
from components.shared.serving_metrics import ServingMetrics
from components.shared.validation import ArgsProblems

Severity = Literal["page", "notify", "advisory"]

ALB = "AWS/ApplicationELB"
CONTAINER_INSIGHTS = "ECS/ContainerInsights"
AUTOSCALING = "AWS/AutoScaling"

# Tag naming the target group resource an alarm watches: policy checks match on it while arnSuffix is unknown.
TARGET_GROUP_TAG = "deepseek:target-group"
# Below this many requests a minute a few failures are noise, not an error rate worth paging for.
MIN_REQUESTS_PER_MINUTE = 10
TREAT_MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")  # documented values


@dataclass(frozen=True)
class AlarmThresholds:
    error_rate_percent: float = 5.0  # 5XX share of requests over 3 of 5 minutes
    p99_latency_seconds: float = 60.0  # non-streaming reasoning answers run long; streaming is ~TTFB
    gpu_utilization_high_percent: float = 90.0  # sustained 15 minutes: the pool is saturated
    gpu_utilization_low_percent: float = 10.0  # sustained 3 hours: paying for idle GPUs
    replica_startup_minutes: int = 20  # boot + image pull + weight load; shortfalls shorter than this are normal


@dataclass(frozen=True)
class AlarmTopic:
    """awsx shape: create (default), adopt an existing topic by `arn`, or `skip` notifications."""

    arn: str = ""  # adopt: nothing is created; the owner must let cloudwatch/events publish (policy + key)
    skip: bool = False  # alarms and rules still exist, but notify nobody
    emails: tuple[str, ...] = ()  # subscribed to the created or adopted topic (each must confirm)


@dataclass(frozen=True)
class InferenceAlarmsArgs:
    load_balancer_arn_suffix: pulumi.Input[str]  # dimension LoadBalancer
    target_group_arn_suffix: pulumi.Input[str]  # dimension TargetGroup
    # Dimension AutoScalingGroupName; also filters launch-failure events. None: the GPU nodes are not an
    # Auto Scaling group (EKS: Karpenter launches them), so no GPU pool / utilization alarms or launch rule.
    asg_name: pulumi.Input[str] | None
    kms_key_arn: pulumi.Input[str] | None = None  # required when the topic is created
    cluster_name: pulumi.Input[str] | None = None  # with service_name: the ECS task-shortfall alarm
    service_name: pulumi.Input[str] | None = None
    min_replicas: int = 1  # the lowest replica count the service is ever scaled to; 0 = no "no healthy host"
    gpu_pool_min_size: int = 0  # 0 = no "pool below minimum" alarm
    spot: bool = True  # declares the spot interruption / rebalance notifications
    environment: Literal["dev", "staging", "prod"] = "dev"
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    topic: AlarmTopic = field(default_factory=AlarmTopic)
    target_group_name: str = ""  # logical name of the target group resource: tags its alarms (TARGET_GROUP_TAG)
    runbook: str = "docs/alarms.md"  # prefix of the runbook links in descriptions (a URL once published)
    # Without an ASG (EKS): the GPU utilization alarms read serving_metrics.gpu_utilization instead.
    serving_metrics: ServingMetrics | None = None


class InferenceAlarms(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str] | None
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    severity: dict[str, Severity]
    composite: aws.cloudwatch.CompositeAlarm
    rules: dict[str, aws.cloudwatch.EventRule]
    alarm_names: pulumi.Output[list[str]]
    alarm_arns: pulumi.Output[list[str]]

    def __init__(self, name: str, args: InferenceAlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:observability:InferenceAlarms", name, None, opts)
        _validate(name, args)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self.alarms, self.severity, self.rules = {}, {}, {}
        self.topic_arn = self._topic()
        self._alb_alarms()
        self._ecs_alarms()
        self._gpu_alarms()
        self._composite()
        self._capacity_events()
        if self._topic_created:
            self._topic_policy()
        every = [*self.alarms.values(), self.composite]
        self.alarm_names = pulumi.Output.all(*[a.name for a in self.alarms.values()], self.composite.alarm_name)
        self.alarm_arns = pulumi.Output.all(*[a.arn for a in every])
        self.register_outputs(
            {
                "topicArn": self.topic_arn,
                "alarmNames": self.alarm_names,
                "alarmArns": self.alarm_arns,
                "compositeAlarmName": self.composite.alarm_name,
                "eventRuleNames": pulumi.Output.all(*[r.name for r in self.rules.values()]),
            }
        )

    # -- notification topic ------------------------------------------------------------------

    def _topic(self) -> pulumi.Output[str] | None:
        args, topic = self._args, self._args.topic
        self._topic_created = False
        if topic.skip:
            return None
        if topic.arn:
            arn = pulumi.Output.from_input(topic.arn)
        else:
            created = aws.sns.Topic(
                f"{self._name}-topic",
                display_name=f"{self._name} ({args.environment})",
                # CloudWatch and EventBridge can only publish to an encrypted topic whose key lets them
                # use it: the AWS-managed alias/aws/sns cannot, so the stack's customer-managed key.
                kms_master_key_id=args.kms_key_arn,
                opts=self._child,
            )
            self._topic_created, self._topic_resource = True, created
            arn = created.arn
        for i, email in enumerate(topic.emails):
            aws.sns.TopicSubscription(
                f"{self._name}-email-{i}", topic=arn, protocol="email", endpoint=email, opts=self._child
            )
        return arn

    def _topic_policy(self) -> None:
        """Who may publish: this account's alarms of this component and its own EventBridge rules."""
        scope = aws_scope(self)
        account, partition, region = scope.account_id, scope.partition, scope.region
        topic_arn = self._topic_resource.arn
        statements: list[dict[str, Any]] = [
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                # Confused-deputy guard: only alarms of this component. The source ARN pins account and
                # region; AWS's documented example scopes by aws:SourceArn alone, so no SourceAccount key
                # that a publish might not carry (a failed condition drops notifications silently).
                "Condition": {
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{self._name}-*"},
                },
            },
            {
                "Sid": "DenyPublishWithoutTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ]
        if self.rules:
            statements.insert(
                1,
                {
                    "Sid": "EventBridgeRulesPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    # Only this component's rules (EventBridge's documented target-policy condition).
                    "Condition": {"ArnEquals": {"aws:SourceArn": [rule.arn for rule in self.rules.values()]}},
                },
            )
        aws.sns.TopicPolicy(
            f"{self._name}-topic-policy",
            arn=topic_arn,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=self._child,
        )

    # -- alarms -------------------------------------------------------------------------------

    def _actions(self, severity: Severity) -> tuple[list[Any], list[Any]]:
        if self.topic_arn is None or severity == "advisory":
            return [], []
        return [self.topic_arn], ([self.topic_arn] if severity == "page" else [])

    def _alarm(self, key: str, severity: Severity, summary: str, action: str, **kwargs: Any) -> None:
        alarm_actions, ok_actions = self._actions(severity)
        description = (
            f"[{self._args.environment}] {summary} Do: {action} Runbook: {self._args.runbook}#{key} ({severity})"
        )
        self.alarms[key] = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{key}",
            name=f"{self._name}-{key}",  # fixed names: the composite rule and the runbook refer to them
            alarm_description=description,
            alarm_actions=alarm_actions,
            ok_actions=ok_actions,
            opts=self._child,
            **kwargs,
        )
        self.severity[key] = severity

    def _alb_alarms(self) -> None:
        a, t = self._args, self._args.thresholds
        lb = {"LoadBalancer": a.load_balancer_arn_suffix}
        lb_tg = {"LoadBalancer": a.load_balancer_arn_suffix, "TargetGroup": a.target_group_arn_suffix}
        tg_tags = {"tags": {TARGET_GROUP_TAG: a.target_group_name}} if a.target_group_name else {}

        def metric(qid: str, metric_name: str, dims: dict[str, Any]) -> dict[str, Any]:
            spec = {"metric_name": metric_name, "namespace": ALB, "period": 60, "stat": "Sum", "dimensions": dims}
            return {"id": qid, "metric": spec, "return_data": False}

        # 503s the ALB answers itself when no target is healthy never reach RequestCount, so ELB 5XX joins
        # the denominator too: otherwise a full outage divides by zero and the rate alarm stays silent.
        errors = "FILL(target5xx, 0) + FILL(elb5xx, 0)"
        total = "FILL(requests, 0) + FILL(elb5xx, 0)"
        self._alarm(
            "5xx-rate",
            "page",
            f"More than {t.error_rate_percent:g}% of requests got a 5XX (target or load balancer) in 3 of 5 minutes.",
            "check vLLM task logs for OOM / CUDA errors and the dashboard's healthy-target count; "
            "roll back a fresh deploy; 503s from the ALB mean no healthy target.",
            comparison_operator="GreaterThanThreshold",
            threshold=t.error_rate_percent,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            metric_queries=[
                {
                    "id": "rate",
                    "expression": f"IF(({total}) >= {MIN_REQUESTS_PER_MINUTE}, 100 * ({errors}) / ({total}), 0)",
                    "label": "5XX % of requests",
                    "return_data": True,
                },
                metric("target5xx", "HTTPCode_Target_5XX_Count", lb_tg),
                metric("elb5xx", "HTTPCode_ELB_5XX_Count", lb),  # the ALB's own errors carry no TargetGroup
                metric("requests", "RequestCount", lb_tg),
            ],
            # ALB publishes 5XX counts only when there are some, and nothing at all without traffic:
            # a gap means no errors.
            treat_missing_data="notBreaching",
            **tg_tags,
        )
        self._alarm(
            "p99-latency",
            "page",
            f"p99 target response time above {t.p99_latency_seconds:g}s in 3 of 5 minutes.",
            "compare QPS with replicas and GPU utilization on the dashboard: saturated → raise "
            "scaling.maxReplicas / gpuPool.maxSize; not saturated → look for long prompts or a slow replica.",
            namespace=ALB,
            metric_name="TargetResponseTime",
            dimensions=lb_tg,
            extended_statistic="p99",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            comparison_operator="GreaterThanThreshold",
            threshold=t.p99_latency_seconds,
            # A p99 of a handful of requests is one slow request: keep the state until there are enough.
            evaluate_low_sample_count_percentiles="ignore",
            treat_missing_data="notBreaching",  # no requests, no latency to complain about
            **tg_tags,
        )
        self._alarm(
            "unhealthy-hosts",
            "page",
            f"A target has failed ALB health checks for {t.replica_startup_minutes} minutes straight "
            "(longer than a replica takes to load the model).",
            "find the task in ECS (stopped reason, container logs): GPU OOM at model load, a bad image, "
            "or a weight download failing; stop it to let ECS replace it.",
            namespace=ALB,
            metric_name="UnHealthyHostCount",
            dimensions=lb_tg,
            statistic="Maximum",
            period=60,
            evaluation_periods=t.replica_startup_minutes,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",  # no registered targets (scaled to zero) publishes nothing
            **tg_tags,
        )
        if a.min_replicas > 0:
            self._alarm(
                "no-healthy-hosts",
                "page",
                f"The endpoint has had no healthy target for {t.replica_startup_minutes} minutes: every request "
                "fails with 503.",
                "check the ECS service events and the GPU pool: no instances (launch failures, spot "
                "reclaimed) or every task failing its health check; see the runbook.",
                namespace=ALB,
                metric_name="HealthyHostCount",
                dimensions=lb_tg,
                statistic="Minimum",
                period=60,
                # A brand-new stack: no target is registered (HealthyHostCount has no datapoints), then the
                # first replicas register and stay unhealthy while they load the model. Missing data is
                # not breaching, and only replicaStartupMinutes straight minutes without a healthy target
                # page, so a first deploy that loads within its expected time never pages. Trade-off: a
                # real outage pages after replicaStartupMinutes, not 3 minutes; with traffic, 5xx-rate
                # (which counts the ALB's own 503s) pages within 3-5 minutes, and a target group left with
                # no registered target is tasks-below-desired's (running < desired) to report.
                evaluation_periods=t.replica_startup_minutes,
                datapoints_to_alarm=t.replica_startup_minutes,
                comparison_operator="LessThanThreshold",
                threshold=1,
                treat_missing_data="notBreaching",
                **tg_tags,
            )

    def _ecs_alarms(self) -> None:
        a, t = self._args, self._args.thresholds
        if a.cluster_name is None or a.service_name is None:
            return
        dims = {"ClusterName": a.cluster_name, "ServiceName": a.service_name}

        def tasks(qid: str, metric_name: str) -> dict[str, Any]:
            spec = {
                "metric_name": metric_name,
                "namespace": CONTAINER_INSIGHTS,
                "period": 60,
                "stat": "Average",
                "dimensions": dims,
            }
            return {"id": qid, "metric": spec, "return_data": False}

        self._alarm(
            "tasks-below-desired",
            "page",
            f"Fewer ECS tasks running than desired for {t.replica_startup_minutes} minutes.",
            "read the ECS service events: 'unable to place a task' = no GPU capacity (see the GPU pool and "
            "launch-failure notifications); tasks stopping = image, secret or OOM problems in the stopped reason.",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            evaluation_periods=t.replica_startup_minutes,
            metric_queries=[
                {"id": "shortfall", "expression": "desired - running", "label": "tasks short", "return_data": True},
                tasks("desired", "DesiredTaskCount"),
                tasks("running", "RunningTaskCount"),
            ],
            # A Container Insights gap is missing telemetry, not evidence of a shortfall; the
            # no-healthy-hosts alarm covers an endpoint that is actually down.
            treat_missing_data="notBreaching",
        )

    def _gpu_utilization_metric(self) -> tuple[str, str, dict[str, Any]] | None:
        """(namespace, metric name, dimensions) of the pool's average GPU utilization, if published."""
        a, m = self._args, self._args.serving_metrics
        if a.asg_name is not None:
            return cloudwatch_agent.NAMESPACE, cloudwatch_agent.GPU_UTILIZATION, {"AutoScalingGroupName": a.asg_name}
        if m is not None and m.gpu_utilization:
            return m.namespace, m.gpu_utilization, dict(m.dimensions)
        return None

    def _gpu_alarms(self) -> None:
        a, t = self._args, self._args.thresholds
        if a.asg_name is not None and a.gpu_pool_min_size > 0:
            asg = {"AutoScalingGroupName": a.asg_name}
            self._alarm(
                "gpu-pool-below-min",
                "page",
                f"GPU pool has fewer than {a.gpu_pool_min_size} in-service instances for "
                f"{t.replica_startup_minutes} minutes.",
                "check the ASG activity history and the launch-failure notifications: insufficient capacity "
                "or vCPU quota → add instance types / AZs or request a quota increase.",
                namespace=AUTOSCALING,
                metric_name="GroupInServiceInstances",
                dimensions=asg,
                statistic="Minimum",
                period=60,
                evaluation_periods=t.replica_startup_minutes,
                comparison_operator="LessThanThreshold",
                threshold=a.gpu_pool_min_size,
                # Group metrics are published every minute once the ASG enables them; silence means they
                # are off and capacity is unwatched — worth fixing, so it alarms.
                treat_missing_data="breaching",
            )
        utilization = self._gpu_utilization_metric()
        if utilization is None:
            return
        namespace, metric_name, dims = utilization
        self._alarm(
            "gpu-utilization-high",
            "notify",
            f"Average GPU utilization above {t.gpu_utilization_high_percent:g}% for 15 minutes: the pool is saturated.",
            "expect latency to follow; check whether replicas are at scaling.maxReplicas or the pool at "
            "gpuPool.maxSize and raise them, or lower scaling.targetQpsPerReplica.",
            namespace=namespace,
            metric_name=metric_name,
            dimensions=dims,
            statistic="Average",
            period=300,
            evaluation_periods=3,
            comparison_operator="GreaterThanThreshold",
            threshold=t.gpu_utilization_high_percent,
            treat_missing_data="notBreaching",  # no GPU instances running, nothing saturated
        )
        self._alarm(
            "gpu-utilization-low",
            "notify" if a.environment == "prod" else "advisory",
            f"Average GPU utilization below {t.gpu_utilization_low_percent:g}% for 3 hours: GPUs are paid for "
            "and idle.",
            "lower scaling.minReplicas / gpuPool.minSize, add a scaling.schedule that scales to zero off-hours, "
            "or pick a smaller instance type.",
            namespace=namespace,
            metric_name=metric_name,
            dimensions=dims,
            statistic="Average",
            period=3600,
            evaluation_periods=3,
            comparison_operator="LessThanThreshold",
            threshold=t.gpu_utilization_low_percent,
            treat_missing_data="notBreaching",  # no GPU instances running, nothing wasted
        )

    def _composite(self) -> None:
        # The user-facing symptoms: one state for status pages and escalation.
        keys = [k for k in ("5xx-rate", "p99-latency", "no-healthy-hosts", "tasks-below-desired") if k in self.alarms]
        alarm_actions, ok_actions = self._actions("page")
        rule = pulumi.Output.all(*[self.alarms[k].name for k in keys]).apply(
            lambda names: " OR ".join(f'ALARM("{n}")' for n in names)
        )
        self.composite = aws.cloudwatch.CompositeAlarm(
            f"{self._name}-service-degraded",
            alarm_name=f"{self._name}-service-degraded",
            alarm_rule=rule,
            alarm_description=(
                f"[{self._args.environment}] The endpoint is failing or slow for users (any of: "
                f"{', '.join(keys)}). Do: open the dashboard, follow the child alarm's runbook. "
                f"Runbook: {self._args.runbook}#service-degraded (page)"
            ),
            alarm_actions=alarm_actions,
            ok_actions=ok_actions,
            opts=self._child,
        )
        self.severity["service-degraded"] = "page"

    # -- capacity events (EventBridge → topic) -----------------------------------------------

    def _capacity_events(self) -> None:
        a = self._args
        if self.topic_arn is None:
            return  # a rule without a target only costs
        if a.asg_name is not None:
            self._launch_failure_rule()
        if not a.spot:
            return
        self._spot_rules()

    def _launch_failure_rule(self) -> None:
        a = self._args
        self._rule(
            "gpu-launch-failed",
            "GPU pool could not launch an instance (capacity, quota or launch template).",
            pulumi.Output.from_input(a.asg_name).apply(
                lambda asg: {
                    "source": ["aws.autoscaling"],
                    "detail-type": ["EC2 Instance Launch Unsuccessful"],
                    "detail": {"AutoScalingGroupName": [asg]},
                }
            ),
            {
                "asg": "$.detail.AutoScalingGroupName",
                "status": "$.detail.StatusMessage",
                "cause": "$.detail.Cause",
                "time": "$.time",
            },
            f"[{a.environment}] GPU instance launch failed in <asg> at <time>: <status> Cause: <cause> "
            f"Do: if capacity/quota, add instance types or AZs or raise the vCPU quota. "
            f"Runbook: {a.runbook}#gpu-launch-failed",
        )

    def _spot_rules(self) -> None:
        a = self._args
        # EC2 spot events carry the instance, not its ASG: these rules see the whole account and region.
        self._rule(
            "spot-interruption",
            "A spot instance will be reclaimed in two minutes.",
            {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
            {"instance": "$.detail.instance-id", "action": "$.detail.instance-action", "time": "$.time"},
            f"[{a.environment}] Spot interruption warning at <time>: instance <instance> will be <action> in two "
            f"minutes. If it is in the GPU pool, ECS drains it and the ASG replaces it; watch the replica count. "
            f"Runbook: {a.runbook}#spot-interruption",
        )
        self._rule(
            "spot-rebalance",
            "EC2 recommends replacing a spot instance at elevated interruption risk.",
            {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
            {"instance": "$.detail.instance-id", "time": "$.time"},
            f"[{a.environment}] Rebalance recommendation at <time> for spot instance <instance>: interruption risk "
            f"is elevated. Frequent ones mean the spot pools are tight; consider more instance types or on-demand "
            f"base capacity. Runbook: {a.runbook}#spot-rebalance",
        )

    def _rule(
        self,
        key: str,
        description: str,
        pattern: pulumi.Input[dict[str, Any]],
        paths: dict[str, str],
        template: str,
    ) -> None:
        rule = aws.cloudwatch.EventRule(
            f"{self._name}-{key}",
            name=f"{self._name}-{key}",
            description=description,
            event_pattern=pulumi.Output.from_input(pattern).apply(json.dumps),
            state="ENABLED",
            opts=self._child,
        )
        aws.cloudwatch.EventTarget(
            f"{self._name}-{key}",
            rule=rule.name,
            arn=self.topic_arn,
            target_id="alarm-topic",
            # A JSON string template: SNS delivers it as one line of text, not an event document.
            input_transformer={"input_paths": paths, "input_template": json.dumps(template)},
            opts=self._child,
        )
        self.rules[key] = rule


SNS_TOPIC_ARN = re.compile(r"^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]{1,256}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _validate(name: str, args: InferenceAlarmsArgs) -> None:
    problems = ArgsProblems("InferenceAlarms")
    t, topic = args.thresholds, args.topic
    # Alarm names are `<name>-<key>` (≤255) and rule names `<name>-<key>` (≤64, [.-_A-Za-z0-9]).
    problems.check(re.fullmatch(r"[A-Za-z0-9._-]{1,40}", name) is not None, "name", "1–40 of A-Za-z0-9._-")
    problems.check(args.environment in ("dev", "staging", "prod"), "environment", "must be dev, staging or prod")
    problems.check(0 < t.error_rate_percent <= 100, "thresholds.errorRatePercent", "must be in (0, 100]")
    problems.check(0 < t.p99_latency_seconds <= 3600, "thresholds.p99LatencySeconds", "must be in (0, 3600]")
    problems.check(
        0 <= t.gpu_utilization_low_percent < t.gpu_utilization_high_percent <= 100,
        "thresholds.gpuUtilizationLowPercent",
        "needs 0 ≤ low < high ≤ 100",
    )
    # One-minute periods: evaluation periods × period may not exceed a day.
    problems.check(1 <= t.replica_startup_minutes <= 1440, "thresholds.replicaStartupMinutes", "must be 1–1440")
    problems.check(args.min_replicas >= 0, "minReplicas", "must be ≥ 0")
    problems.check(args.gpu_pool_min_size >= 0, "gpuPoolMinSize", "must be ≥ 0")
    problems.check(
        (args.cluster_name is None) == (args.service_name is None),
        "serviceName",
        "clusterName and serviceName come together (Container Insights needs both dimensions)",
    )
    problems.check(not (topic.skip and topic.arn), "topic.arn", "adopt a topic or skip notifications, not both")
    problems.check(not (topic.skip and topic.emails), "topic.emails", "nobody is notified when the topic is skipped")
    problems.check(not topic.arn or SNS_TOPIC_ARN.match(topic.arn) is not None, "topic.arn", "must be an SNS topic ARN")
    problems.check(all(_EMAIL.match(e) for e in topic.emails), "topic.emails", "must be email addresses")
    problems.check(
        topic.skip or bool(topic.arn) or args.kms_key_arn is not None,
        "kmsKeyArn",
        "required to create the topic: alarms and EventBridge can only publish to a topic encrypted with a "
        "customer-managed key that grants them use",
    )
    problems.raise_if_any()
