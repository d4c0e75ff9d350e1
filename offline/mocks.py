"""Pulumi mocks that answer data-source calls from recorded AWS data and record every registration.

The program runs unchanged against Pulumi's own mock runtime (`pulumi.runtime.set_mocks`). Values
that only AWS would know (ids, ARNs, generated names, DNS names) are fabricated deterministically so
the program's own code paths run; each fabricated value is remembered so the plan can show it as
"known after deploy" instead of pretending to know it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _sync_await

from offline import arns, recorded

# Documentation account id from AWS's own examples; never a real account.
PLACEHOLDER_ACCOUNT = "123456789012"


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/flowLog:FlowLog": "fl-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
    "aws:kms/key:Key": "",
    "aws:amp/workspace:Workspace": "ws-",
}

# S3 bucket types whose `bucket` (name) output is computed when the program does not set it.
_BUCKETS = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})

# Extra outputs AWS computes for some types, beyond id, name and the ARN outputs (offline/arns.py).
# Each answers (logical name, digest, inputs, region).
_EXTRA_OUTPUTS = {
    "aws:lb/loadBalancer:LoadBalancer": lambda n, d, i, r: {
        "dnsName": f"{n}-{d[:9]}.elb.amazonaws.com",
        "zoneId": "Z35SXDOTRQ7X7K",
    },
    # <registry id>.dkr.ecr.<region>.amazonaws.com/<name> (ECR user guide, "Amazon ECR private registry").
    "aws:ecr/repository:Repository": lambda n, d, i, r: {
        "repositoryUrl": f"{PLACEHOLDER_ACCOUNT}.dkr.ecr.{r}.amazonaws.com/{i.get('name') or n}",
        "registryId": PLACEHOLDER_ACCOUNT,
    },
    # The build is not run offline (no Docker engine): a digest-shaped placeholder, tracked as computed.
    "docker-build:index:Image": lambda n, d, i, r: {
        "digest": "sha256:" + hashlib.sha256(f"offline-build/{n}/{d}".encode()).hexdigest(),
        "contextHash": hashlib.sha256(f"context/{n}".encode()).hexdigest(),
    },
    "aws:eks/cluster:Cluster": lambda n, d, i, region: {
        "endpoint": f"https://{d[:32].upper()}.gr7.{region}.eks.amazonaws.com",
        # Base64 of a placeholder, not a certificate: only the kubeconfig text carries it.
        "certificateAuthority": {"data": "T0ZGTElORS1QTEFOLUNB"},
        "vpcConfig": {"clusterSecurityGroupId": f"sg-{d[:17]}"},
    },
    "aws:ec2/launchTemplate:LaunchTemplate": lambda n, d, i, region: {"latestVersion": 1},
    # AMP's query endpoint for a workspace (AMP user guide, "Query your Prometheus metrics"): ends with "/".
    "aws:amp/workspace:Workspace": lambda n, d, i, region: {
        "prometheusEndpoint": f"https://aps-workspaces.{region}.amazonaws.com/workspaces/ws-{d}/"
    },
    "aws:sqs/queue:Queue": lambda n, d, i, region: {
        "url": f"https://sqs.{region}.amazonaws.com/{PLACEHOLDER_ACCOUNT}/{n}"
    },
}


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    provider: str
    protect: bool
    retain_on_delete: bool
    ignore_changes: list[str]
    depends_on: list[str]
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)  # input key -> URNs it came from
    # The request's aliases: {"urn": ...} or a spec {"name", "type", "stack", "project", "parentUrn", "noParent"}
    # with only the fields it sets (offline/urns.py resolves them to URNs as the engine does).
    aliases: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AccountFixture:
    """What the account already holds that the program looks up (IAM ListRoles), as (service, role name).

    ESTABLISHED is an account that has run an Auto Scaling group, an ECS cluster, a load balancer and ECS
    service autoscaling: each service creates its service-linked role (path /aws-service-role/<service>/)
    on first use. FRESH is a new account with none of them. Tests pass `account=` to `run_program`."""

    service_linked_roles: tuple[tuple[str, str], ...]


ESTABLISHED = AccountFixture(
    (
        ("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling"),
        ("ecs.amazonaws.com", "AWSServiceRoleForECS"),
        ("elasticloadbalancing.amazonaws.com", "AWSServiceRoleForElasticLoadBalancing"),
        ("ecs.application-autoscaling.amazonaws.com", "AWSServiceRoleForApplicationAutoScaling_ECSService"),
    )
)
FRESH = AccountFixture(())


@dataclass
class RecordedAwsMocks(pulumi.runtime.Mocks):
    region: str
    account: AccountFixture = ESTABLISHED
    preview: bool = False  # as `pulumi preview`: what AWS assigns (ids, ARNs, generated names) is unknown
    computed: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    invokes: list[tuple[str, dict]] = field(default_factory=list)  # (token, arguments) of every data-source call

    # -- data sources -------------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append(args.token)
        self.invokes.append((args.token, dict(args.args)))
        handler = _CALLS.get(args.token)
        if handler is None:
            raise NotImplementedError(f"offline plan has no recorded AWS data for {args.token}")
        try:
            return handler(self, args.args), []
        except LookupError as exc:
            # What the provider does for a bad argument: the invoke fails with a reason.
            return {}, [(next(iter(args.args), ""), str(exc))]

    def _instance_type(self, a: dict) -> dict:
        name = a["instanceType"]
        data = recorded.instance_types().get(name)
        if data is None:
            # The provider's wording for EC2's not-found answer (see stacks/aws_facts.py NOT_FOUND_CODES).
            raise LookupError(
                f"reading EC2 Instance Type ({name}): operation error EC2: DescribeInstanceTypes, https response "
                f"error StatusCode: 400, api error InvalidInstanceType: The following supplied instance types "
                f"do not exist: [{name}]"
            )
        gpu_info = data.get("GpuInfo") or {}
        return {
            "id": name,
            "instanceType": name,
            "defaultVcpus": data["VCpuInfo"]["DefaultVCpus"],
            "memorySize": data["MemoryInfo"]["SizeInMiB"],
            "supportedArchitectures": data["ProcessorInfo"]["SupportedArchitectures"],
            "supportedUsagesClasses": data.get("SupportedUsageClasses", []),
            "currentGeneration": data.get("CurrentGeneration", False),
            "gpuses": [
                {
                    "count": g["Count"],
                    "manufacturer": g["Manufacturer"],
                    "memorySize": g["MemoryInfo"]["SizeInMiB"],
                    "name": g["Name"],
                }
                for g in gpu_info.get("Gpus", [])
            ],
            "totalGpuMemory": gpu_info.get("TotalGpuMemoryInMiB", 0),
            "instanceDisks": [
                {"count": d["Count"], "size": d["SizeInGB"], "type": d["Type"]}
                for d in (data.get("InstanceStorageInfo") or {}).get("Disks", [])
            ],
            "totalInstanceStorage": (data.get("InstanceStorageInfo") or {}).get("TotalSizeInGB", 0),
            "networkPerformance": data.get("NetworkInfo", {}).get("NetworkPerformance", ""),
            "defaultNetworkCardIndex": data.get("NetworkInfo", {}).get("DefaultNetworkCardIndex", 0),
            "maximumNetworkCards": data.get("NetworkInfo", {}).get("MaximumNetworkCards", 1),
            "networkCards": [
                {
                    "index": c["NetworkCardIndex"],
                    "baselineBandwidth": c.get("BaselineBandwidthInGbps", 0),
                    "peakBandwidth": c.get("PeakBandwidthInGbps", 0),
                    "maximumInterfaces": c.get("MaximumNetworkInterfaces", 0),
                    "performance": c.get("NetworkPerformance", ""),
                }
                for c in data.get("NetworkInfo", {}).get("NetworkCards", [])
            ],
            "efaSupported": data.get("NetworkInfo", {}).get("EfaSupported", False),
            "efaMaximumInterfaces": data.get("NetworkInfo", {}).get("EfaInfo", {}).get("MaximumEfaInterfaces", 0),
        }

    def _availability_zones(self, a: dict) -> dict:
        names = list(recorded.availability_zones(self.region))
        return {
            "id": self.region,
            "names": names,
            "zoneIds": [f"{self.region}-az{i + 1}" for i in range(len(names))],
            "state": "available",
        }

    def _instance_type_offerings(self, a: dict) -> dict:
        """DescribeInstanceTypeOfferings by AZ, filtered by `instance-type` / `location` like EC2."""
        if a.get("locationType", "region") != "availability-zone":
            raise LookupError("offline plan records offerings by availability-zone only")
        wanted = {f["name"]: set(f["values"]) for f in a.get("filters") or []}
        unknown = set(wanted) - {"instance-type", "location"}
        if unknown:
            raise LookupError(f"offline plan cannot filter offerings by {sorted(unknown)}")
        types, locations = wanted.get("instance-type"), wanted.get("location")
        rows = []
        for az in recorded.availability_zones(self.region):
            if locations is None or az in locations:
                offered = recorded.offered_types(self.region, az)
                rows += [(az, t) for t in sorted(offered if types is None else offered & types)]
        return {
            "id": self.region,
            "locationType": "availability-zone",
            "instanceTypes": [t for _, t in rows],
            "locations": [az for az, _ in rows],
            "locationTypes": ["availability-zone"] * len(rows),
        }

    def _roles(self, a: dict) -> dict:
        """IAM ListRoles under a path prefix (and name regex), from the account fixture."""
        prefix = a.get("pathPrefix") or "/"
        pattern = re.compile(a.get("nameRegex") or ".*")
        roles = [
            (f"/aws-service-role/{service}/", name)
            for service, name in self.account.service_linked_roles
            if f"/aws-service-role/{service}/".startswith(prefix) and pattern.search(name)
        ]
        return {
            "id": PLACEHOLDER_ACCOUNT,
            "pathPrefix": a.get("pathPrefix"),
            "nameRegex": a.get("nameRegex"),
            "names": [name for _, name in roles],
            "arns": [f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role{path}{name}" for path, name in roles],
        }

    def _regions(self, a: dict) -> dict:
        return {"id": "aws", "names": list(recorded.regions())}

    def _region(self, a: dict) -> dict:
        return {
            "id": self.region,
            "name": self.region,
            "region": self.region,
            "endpoint": f"ec2.{self.region}.amazonaws.com",
            "description": self.region,
        }

    def _partition(self, a: dict) -> dict:
        return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}

    def _caller_identity(self, a: dict) -> dict:
        self.computed.add(PLACEHOLDER_ACCOUNT)
        return {
            "id": PLACEHOLDER_ACCOUNT,
            "accountId": PLACEHOLDER_ACCOUNT,
            "arn": f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:user/offline-plan",
            "userId": "AIDAOFFLINEPLAN",
        }

    def _ecr_authorization_token(self, a: dict) -> dict:
        """GetAuthorizationToken: a placeholder token (12 hours in AWS); the build that uses it is not run."""
        self.computed.add("offline-ecr-token")
        registry = a.get("registryId") or PLACEHOLDER_ACCOUNT
        return {
            "id": self.region,
            "registryId": registry,
            "authorizationToken": "offline-ecr-token",
            "userName": "AWS",
            "password": "offline-ecr-token",
            "proxyEndpoint": f"https://{registry}.dkr.ecr.{self.region}.amazonaws.com",
            "expiresAt": "known after deploy",
        }

    def _session_context(self, a: dict) -> dict:
        """IAM GetSessionContext: an assumed-role session ARN resolves to its role; anything else to itself."""
        arn = a["arn"]
        match = re.match(r"^arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/(.+)$", arn)
        issuer = f"arn:{match[1]}:iam::{match[2]}:role/{match[3]}" if match else arn
        return {
            "id": arn,
            "arn": arn,
            "issuerArn": issuer,
            "issuerId": "AROAOFFLINEPLAN",
            "issuerName": issuer.rsplit("/", 1)[1],
            "sessionName": match[4] if match else "",
        }

    def _ssm_parameter(self, a: dict) -> dict:
        value = recorded.ssm_parameter(self.region, a["name"])
        return {
            "id": a["name"],
            "name": a["name"],
            "value": value,
            "insecureValue": value,
            "type": "String",
            "version": 1,
            "arn": f"arn:aws:ssm:{self.region}::parameter{a['name']}",
        }

    # -- resources ----------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not args.custom:
            return "", {}
        digest = _digest(args.typ, args.name)
        outputs = dict(args.inputs)
        fabricated: dict[str, Any] = {}
        if args.typ in _BUCKETS:
            fabricated.update(self._bucket_names(args.name, outputs, digest))
        # A bucket's id is its name, as in AWS (ALB accessLogs and bucket policies reference either).
        bucket_name = outputs.get("bucket") or fabricated.get("bucket")
        default_id = bucket_name if args.typ in _BUCKETS else f"{_ID_PREFIX.get(args.typ, '')}{digest}"
        resource_id = args.resource_id or default_id
        fabricated.update(self._name(args, outputs, digest))
        name = bucket_name or outputs.get("name") or fabricated.get("name")
        fabricated.update(self._arns(args.typ, resource_id, name, outputs, digest))
        extra = _EXTRA_OUTPUTS.get(args.typ)
        if extra:
            for k, v in extra(args.name, digest, outputs, self.region).items():
                if k not in outputs:
                    fabricated[k] = v
                elif isinstance(v, dict) and isinstance(outputs[k], dict):
                    # What AWS adds inside an input object (e.g. an EKS cluster's vpcConfig security group).
                    outputs[k] = {**v, **outputs[k]}
        named = outputs.get("bucket") if args.typ in _BUCKETS else None  # the program's own bucket name
        for value in [resource_id, *fabricated.values()]:
            if isinstance(value, str) and value != named:
                self.computed.add(value)
        if self.preview:
            # The engine's preview: inputs stay as given, everything the provider computes is unknown.
            outputs.update(dict.fromkeys(fabricated, rpc.UNKNOWN))
            return ("" if not args.resource_id else args.resource_id), outputs
        outputs.update(fabricated)
        return resource_id, outputs

    def _name(self, args: pulumi.runtime.MockResourceArgs, inputs: dict[str, Any], digest: str) -> dict[str, str]:
        """The provider's autoname (`<logical name>-<7 hex>`, or `namePrefix` + 26 digits), for types
        whose schema has a `name` output the program left out."""
        declared = arns.sdk_outputs(args.typ)
        if inputs.get("name") or (declared is not None and "name" not in declared):
            return {}
        prefix = inputs.get("namePrefix")
        return {"name": arns.prefixed_name(prefix, digest) if prefix else f"{args.name}-{digest[:7]}"}

    def _arns(self, typ: str, resource_id: str, name: Any, inputs: dict[str, Any], digest: str) -> dict[str, Any]:
        """The ARN outputs (and those derived from them) AWS assigns, unless the program set them."""
        fabricate = arns.ARNS.get(typ)
        if fabricate is None:
            return {}
        subject = arns.Subject(
            self.region, PLACEHOLDER_ACCOUNT, resource_id, name if isinstance(name, str) else "", inputs, digest
        )
        return {k: v for k, v in fabricate(subject).items() if k not in inputs}

    def _bucket_names(self, name: str, inputs: dict[str, Any], digest: str) -> dict[str, str]:
        """The name S3 would get (the provider autonames `bucket` from the logical name, or from
        `bucketPrefix`) and the domain names AWS derives from it; only what the program left out."""
        bucket = inputs.get("bucket")
        out: dict[str, str] = {}
        if not bucket:
            prefix = inputs.get("bucketPrefix")
            bucket = f"{prefix}{digest}" if prefix else f"{name.lower()}-{digest[:7]}"
            out["bucket"] = bucket[:63]
            bucket = out["bucket"]
        derived = {
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{bucket}.s3.{self.region}.amazonaws.com",
        }
        out.update({k: v for k, v in derived.items() if not inputs.get(k)})
        return out


_CALLS = {
    "aws:ec2/getInstanceType:getInstanceType": RecordedAwsMocks._instance_type,
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": RecordedAwsMocks._instance_type_offerings,
    "aws:index/getAvailabilityZones:getAvailabilityZones": RecordedAwsMocks._availability_zones,
    "aws:index/getRegions:getRegions": RecordedAwsMocks._regions,
    "aws:iam/getRoles:getRoles": RecordedAwsMocks._roles,
    "aws:index/getRegion:getRegion": RecordedAwsMocks._region,
    "aws:index/getPartition:getPartition": RecordedAwsMocks._partition,
    "aws:index/getCallerIdentity:getCallerIdentity": RecordedAwsMocks._caller_identity,
    "aws:ssm/getParameter:getParameter": RecordedAwsMocks._ssm_parameter,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": RecordedAwsMocks._ecr_authorization_token,
    "aws:iam/getSessionContext:getSessionContext": RecordedAwsMocks._session_context,
}


def _aliases(request) -> list[dict[str, Any]]:
    """Alias specs (the SDK sends them when the monitor supports aliasSpecs, as the mock's does) and URNs."""
    found: list[dict[str, Any]] = [{"urn": urn} for urn in request.aliasURNs]
    for alias in request.aliases:
        if alias.HasField("urn"):
            found.append({"urn": alias.urn})
        else:
            spec = alias.spec
            found.append({f.name: value for f, value in spec.ListFields()})
    return found


class RecordingMonitor(MockMonitor):
    """Pulumi's MockMonitor, also keeping what the engine would see: parent, options and inputs."""

    def __init__(self, mocks: RecordedAwsMocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):
        if request.custom and self._stack_transforms:
            request = self._apply_stack_transforms(request)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        registered = self.resources[response.urn]
        self.registrations.append(
            Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=request.custom,
                inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                outputs=registered.state,
                provider=request.provider,
                protect=request.protect if request.HasField("protect") else False,
                retain_on_delete=(request.retainOnDelete if request.HasField("retainOnDelete") else False),
                ignore_changes=list(request.ignoreChanges),
                depends_on=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                aliases=_aliases(request),
            )
        )
        return response

    def _apply_stack_transforms(self, request):
        """The engine runs stack transforms before the provider sees the inputs; so does the plan."""
        props = rpc.deserialize_properties(request.object, keep_unknowns=True)
        for transform in self._stack_transforms:
            result = transform(
                pulumi.ResourceTransformArgs(
                    custom=True, type_=request.type, name=request.name, props=props, opts=pulumi.ResourceOptions()
                )
            )
            if result is not None and result.props is not None:
                props = result.props
        changed = type(request)()
        changed.CopyFrom(request)
        changed.object.CopyFrom(_sync_await(rpc.serialize_properties(props, {})))
        return changed
