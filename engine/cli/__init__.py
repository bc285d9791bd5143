"""Headless commands (`python main.py COMMAND ...`). Every expected failure is one line on stderr, exit 2."""
from __future__ import annotations

import sys
from importlib import import_module

# command name -> module with `add_arguments(parser)` and `run(args) -> int`
COMMANDS = {
    "restore": "engine.cli.restore_cmd",
    "probe": "engine.cli.probe_cmd",
    "evaluate": "engine.cli.evaluate_cmd",
    "benchmark": "engine.cli.benchmark_cmd",
}


def main(argv: list[str] | None = None) -> int:
    import argparse

    from ..errors import RestoraError

    argv = list(sys.argv[1:] if argv is None else argv)
    from ..version import version_line

    parser = argparse.ArgumentParser(prog="restora", description="Restora: restore compressed images and video.")
    class PrintVersion(argparse.Action):  # argparse's own "version" action wraps the line at the terminal width
        def __call__(self, parser, namespace, values, option_string=None):
            print(version_line())
            parser.exit()

    parser.add_argument("--version", nargs=0, action=PrintVersion, help="print the versions and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, module_name in COMMANDS.items():
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # command not built yet
            raise
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0]))
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except RestoraError as exc:
        print(f"restora {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"restora {args.command}: interrupted", file=sys.stderr)
        return 130
