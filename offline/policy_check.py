"""`make policy STACK=<name>`: the policy pack over the planned stack, then the control-table waivers the
stack relies on (policy/deepseek_policies/controls.yaml); exit 1 on any mandatory violation."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from offline.harness import ProgramRun, run_program, stack_config
from offline.plan import _render_policy
from offline.policy_bridge import check_planned_resources, waivers_relied_on
from stacks.aws_facts import AwsLookupError
from stacks.errors import ConfigError
from stacks.yaml_files import YamlFileError


def main(argv: list[str] | None = None, load: Callable[[str], ProgramRun] = run_program) -> int:
    """`load` runs a shipped stack (tests that only read the result pass `shared_run`)."""
    parser = argparse.ArgumentParser(prog="make policy")
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--stack-file")
    args = parser.parse_args(argv)
    try:
        config = stack_config(args.stack, stack_file=args.stack_file) if args.stack_file else None
        run = run_program(args.stack, config=config) if config else load(args.stack)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except (YamlFileError, AwsLookupError) as exc:
        print(exc, file=sys.stderr)
        return 2
    environment = stack_config(args.stack, stack_file=args.stack_file).get("deepseek-cloud:environment", "dev")
    result = check_planned_resources(run, environment)
    from rich.console import Console

    _render_policy(Console(width=160), result)
    waivers = waivers_relied_on(run, environment)
    print(f"waivers relied on ({environment}, {len(waivers)}; policy/deepseek_policies/controls.yaml):")
    for control, standard, reason in waivers:
        print(f"  {control} ({standard}): {reason}")
    return 1 if result.get("mandatory") else 0


if __name__ == "__main__":
    sys.exit(main())
