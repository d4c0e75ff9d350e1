"""deepseek-cloud-ci: GitHub Actions' OIDC provider and CI roles, from `deepseek-cloud-ci:*` config."""

import sys
from pathlib import Path

# The program lives in ci/ but its code is the repository's stacks/ and components/ packages.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pulumi  # noqa: E402

from stacks.ci import build_ci_identity, load_ci_config  # noqa: E402

config = load_ci_config()
for key, value in build_ci_identity(config.repository, **config.identity_args()).items():
    pulumi.export(key, value)
