"""Restora entry point: only wiring.

    python main.py                 open the window on the bundled demo
    python main.py FILE            open FILE in the window
    python main.py restore|probe|evaluate|benchmark ...   headless commands (see --help)
    python main.py --version       Restora's version and what it runs on
"""
import sys


def main(argv: list[str]) -> int:
    from engine.cli import COMMANDS

    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help", "--version")):
        from engine.cli import main as cli_main

        return cli_main(argv)
    from gui.app import run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
