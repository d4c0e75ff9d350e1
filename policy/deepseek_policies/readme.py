"""`python -m deepseek_policies.readme README.md` (make readme-controls): rewrite README's generated rule and
control tables from controls.yaml and the pack's rules."""

from __future__ import annotations

import sys
from pathlib import Path

from deepseek_policies import ALL_POLICIES, controls


def main(argv: list[str] | None = None) -> int:
    path = Path((argv if argv is not None else sys.argv[1:])[0])
    path.write_text(controls.replace_readme_block(path.read_text(), controls.readme_block(ALL_POLICIES)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
