"""`python -m daemon.emulator run|scenario`: the command line of the Infinity emulator."""

from __future__ import annotations

import argparse
import sys

from . import OptionError, ScenarioError, demo_scenario_text, run


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a number greater than 0")
    return value


def port_number(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535; 0 picks a free port)")
    return int(text)


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # One line on stderr and exit 2, like every other error of the emulator.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m daemon.emulator", description="Reference emulator of the Infinity HTTP integration module.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    serve = commands.add_parser("run", help="serve the emulated Infinity server until SIGINT/SIGTERM")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=port_number, default=10080, help="port to listen on; 0 picks a free one (default 10080)")
    serve.add_argument("--scenario", metavar="FILE", help="scenario TOML file (default: the built-in demo)")
    clock = serve.add_mutually_exclusive_group()
    clock.add_argument("--time-scale", type=positive_float, metavar="F", help="emulated seconds per real second (overrides the scenario)")
    clock.add_argument("--manual-clock", action="store_true",
                       help="time stands still until /_emulator/advance/ moves it (overrides the scenario)")
    serve.add_argument("--port-file", metavar="FILE", help="write the listening port to FILE once ready")
    serve.add_argument("--replay", metavar="JOURNAL",
                       help="answer as the server of a daemon's journal did (no scenario)")
    commands.add_parser("scenario", help="print the built-in demo scenario")
    args = parser.parse_args(argv)

    if args.command == "scenario":
        sys.stdout.write(demo_scenario_text())
        return 0
    try:
        run(host=args.host, port=args.port, scenario=args.scenario, time_scale=args.time_scale,
            port_file=args.port_file, manual_clock=args.manual_clock, replay=args.replay)
    except (ScenarioError, OptionError) as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
