"""ServingImage: the vLLM serving image every platform runs, referenced by digest.

Two sources (config `image.source`):
  build  an ECR repository of the stack (stack KMS key, IMMUTABLE tags, scan on push, lifecycle policy) and
         a `docker_build.Image` that builds images/vllm/Dockerfile for linux/amd64 and pushes it with an
         ECR token from the AWS provider. pulumi-docker-build's Image is the maintained way to build: its
         README splits the providers as "@pulumi/docker-build: anything related to building images with
         docker build; @pulumi/docker: everything else", and its Image is a superset of docker v3/v4 Image.
  uri    an existing digest-pinned image (e.g. docker.io/vllm/vllm-openai@sha256:…), pulled through an ECR
         pull-through cache rule so nodes pull from in-region ECR instead of Docker Hub (anonymous rate
         limits, one NAT IP). Docker Hub upstreams need credentials: a Secrets Manager secret whose name
         starts with `ecr-pullthroughcache/` holding {"username", "accessToken"} (ECR user guide,
         "Creating a pull through cache rule", Docker Hub). A repository creation template gives the
         repositories ECR creates on first pull the same KMS key, immutability and scanning.

Either way `image_ref` is `<registry>/<repository>@sha256:<digest>`: what the ECS task definition and the
Kubernetes Deployment both use. Under the offline plan the build is registered but not run (no Docker
engine); the mock answers a digest-shaped placeholder that the plan shows as known after deploy.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from components.shared.aws_scope import aws_scope
from components.shared.validation import ArgsProblems

ROOT = Path(__file__).resolve().parent.parent.parent
DOCKERFILE = ROOT / "images" / "vllm" / "Dockerfile"
PLATFORM = "linux/amd64"  # the GPU node pools are x86_64 (g5/g6e)
DIGEST_REF = re.compile(r"^(?P<repo>[\w.:/-]+?)(:(?P<tag>[\w.-]+))?@(?P<digest>sha256:[0-9a-f]{64})$")
DOCKER_HUB = "registry-1.docker.io"
PULL_THROUGH_PREFIX = "docker-hub"
CREDENTIAL_ARN = re.compile(r"^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:ecr-pullthroughcache/.+$")
# Untagged layers of superseded builds go after a week; the newest 10 tagged images stay for rollback.
KEEP_IMAGES = 10


def base_image(dockerfile: Path = DOCKERFILE) -> dict[str, str]:
    """The pinned base of the Dockerfile (`ARG VLLM_BASE=<repo>:<tag>@sha256:<digest>`)."""
    text = dockerfile.read_text()
    match = re.search(r"^ARG VLLM_BASE=(\S+)$", text, re.MULTILINE)
    ref = DIGEST_REF.match(match.group(1)) if match else None
    if ref is None or not ref.group("tag"):
        raise ValueError(f"{dockerfile}: ARG VLLM_BASE must pin <image>:<tag>@sha256:<digest>")
    return {"image": ref.group("repo"), "tag": ref.group("tag"), "digest": ref.group("digest")}


def build_tag(dockerfile: Path = DOCKERFILE) -> str:
    """An immutable tag per Dockerfile content: the base tag plus 12 hex of the Dockerfile's sha256."""
    content = hashlib.sha256(dockerfile.read_bytes()).hexdigest()[:12]
    return f"{base_image(dockerfile)['tag']}-{content}"


def lifecycle_policy() -> dict:
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": "expire untagged layers of superseded builds after 7 days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 7,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"keep the newest {KEEP_IMAGES} images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
                "action": {"type": "expire"},
            },
        ]
    }


@dataclass(frozen=True)
class ServingImageArgs:
    source: str = "build"  # build | uri
    uri: str = ""  # source=uri: <registry>/<repo>[:tag]@sha256:<digest>
    credential_arn: str = ""  # source=uri from Docker Hub: Secrets Manager ecr-pullthroughcache/… secret
    repository_name: str = ""  # source=build: the ECR repository, e.g. deepseek/<stack>/vllm
    kms_key_arn: pulumi.Input[str] = ""
    force_delete: bool = False  # dev/staging: the repository goes with the stack, images and all
    source_url: str = ""  # OCI label org.opencontainers.image.source
    dockerfile: str = str(DOCKERFILE)


class ServingImage(pulumi.ComponentResource):
    image_ref: pulumi.Output[str]  # <registry>/<repository>@sha256:<digest>
    repository_arn: pulumi.Output[str]  # what a pulling identity needs ecr:BatchGetImage on
    base: dict[str, str]

    def __init__(self, name: str, args: ServingImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:shared:ServingImage", name, None, opts)
        _validate(args)
        if args.source == "build":
            self.base = base_image(Path(args.dockerfile))
            self.image_ref, self.repository_arn = self._build(name, args)
        else:
            self.base = {}
            self.image_ref, self.repository_arn = self._pull_through(name, args)
        self.register_outputs({"imageRef": self.image_ref, "repositoryArn": self.repository_arn})

    def _repository(self, name: str, args: ServingImageArgs) -> aws.ecr.Repository:
        child = pulumi.ResourceOptions(parent=self)
        repo = aws.ecr.Repository(
            f"{name}-repo",
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",  # ECR.2: a tag never moves; the task pins the digest anyway
            image_scanning_configuration={"scan_on_push": True},  # ECR.1
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
            force_delete=args.force_delete,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(  # ECR.3
            f"{name}-lifecycle", repository=repo.name, policy=json.dumps(lifecycle_policy()), opts=child
        )
        return repo

    def _build(self, name: str, args: ServingImageArgs) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        repo = self._repository(name, args)
        token = aws.ecr.get_authorization_token_output(registry_id=repo.registry_id)
        dockerfile = Path(args.dockerfile)
        image = docker_build.Image(
            f"{name}-build",
            context={"location": str(dockerfile.parent)},
            dockerfile={"location": str(dockerfile)},
            platforms=[docker_build.Platform.LINUX_AMD64],
            build_args={"SOURCE_URL": args.source_url, "VLLM_VERSION": self.base["tag"].lstrip("v")},
            tags=[pulumi.Output.concat(repo.repository_url, ":", build_tag(dockerfile))],
            push=True,
            registries=[{"address": repo.repository_url, "username": token.user_name, "password": token.password}],
            opts=pulumi.ResourceOptions(parent=self),
        )
        ref = pulumi.Output.concat(repo.repository_url, "@", image.digest)
        return ref, repo.arn

    def _pull_through(self, name: str, args: ServingImageArgs) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        child = pulumi.ResourceOptions(parent=self)
        aws.ecr.PullThroughCacheRule(
            f"{name}-cache",
            ecr_repository_prefix=PULL_THROUGH_PREFIX,
            upstream_registry_url=DOCKER_HUB,
            credential_arn=args.credential_arn,
            opts=child,
        )
        aws.ecr.RepositoryCreationTemplate(
            f"{name}-template",
            prefix=PULL_THROUGH_PREFIX,
            applied_fors=["PULL_THROUGH_CACHE"],
            image_tag_mutability="IMMUTABLE",
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
            lifecycle_policy=json.dumps(lifecycle_policy()),
            description="Repositories ECR creates on the first pull through the Docker Hub cache rule",
            opts=child,
        )
        scope = aws_scope(self)
        account, region = scope.account_id, scope.region
        repository = f"{PULL_THROUGH_PREFIX}/{cached_repository(args.uri)}"
        digest = DIGEST_REF.match(args.uri).group("digest")  # type: ignore[union-attr]
        ref = f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}@{digest}"
        arn = f"arn:aws:ecr:{region}:{account}:repository/{repository}"
        return pulumi.Output.from_input(ref), pulumi.Output.from_input(arn)


def cached_repository(uri: str) -> str:
    """Docker Hub path of an image as the cache names it: library/ for official images, no registry host."""
    repo = DIGEST_REF.match(uri).group("repo")  # type: ignore[union-attr]
    for host in ("docker.io/", "registry-1.docker.io/", "index.docker.io/"):
        repo = repo.removeprefix(host)
    return repo if "/" in repo else f"library/{repo}"


def _validate(args: ServingImageArgs) -> None:
    problems = ArgsProblems("ServingImage")
    problems.check(args.source in ("build", "uri"), "source", "must be build or uri")
    if args.source == "uri":
        problems.check(bool(DIGEST_REF.match(args.uri)), "uri", "must pin a digest (<image>[:tag]@sha256:<64 hex>)")
        problems.check(
            bool(CREDENTIAL_ARN.match(args.credential_arn)),
            "pullThroughCache.credentialArn",
            "Docker Hub needs a Secrets Manager secret named ecr-pullthroughcache/…",
        )
    else:
        problems.check(
            bool(re.match(r"^[a-z0-9]+([._/-][a-z0-9]+)*$", args.repository_name)) and len(args.repository_name) <= 256,
            "repositoryName",
            "ECR repository names are lowercase letters, digits and ._/- (up to 256)",
        )
    problems.raise_if_any()
