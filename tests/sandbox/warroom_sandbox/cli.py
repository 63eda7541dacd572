"""`warroom sandbox` (through the `warroom.commands` entry point) and `warroom-sandbox`:
the product's CLI finds this command without importing the doubles."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    from warroom_sandbox.console_run import run_sandbox

    return run_sandbox(script=args.script)


def _arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--script", help="read console lines from this file instead of the terminal"
    )
    parser.set_defaults(func=_run)
    return parser


def register(sub: argparse._SubParsersAction) -> None:
    _arguments(
        sub.add_parser(
            "sandbox", help="try warroom in the terminal: emulated Slack and cluster, no workspace"
        )
    )


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argparse.ArgumentParser(prog="warroom-sandbox")).parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
