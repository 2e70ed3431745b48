"""`cc emulator run|scenario|call-in|subscribe`: the reference Infinity server for tests, demos."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Callable, Optional

import typer

from daemon import profile
from daemon.wire import ErrorCode, Exit, WireError

from . import client, render
from .options import Json

if TYPE_CHECKING:
    from daemon.emulator.admin import Admin

app = typer.Typer(help="The Infinity server emulator (tests, demos, training).",
                  no_args_is_help=True)


@app.command()
def run(port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 10080,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        scenario: Annotated[Optional[str], typer.Option(
            help="Scenario file (TOML); default: the built-in demo.")] = None,
        time_scale: Annotated[Optional[float], typer.Option(
            help="Emulated seconds per real second (overrides the scenario).")] = None,
        manual_clock: Annotated[bool, typer.Option(
            "--manual-clock", help="Time stands still until /_emulator/advance/ moves it "
                                   "(overrides the scenario).")] = False,
        port_file: Annotated[Optional[str], typer.Option(
            help="Write the port here once listening.")] = None,
        replay: Annotated[Optional[str], typer.Option(
            metavar="JOURNAL", help="Answer as the server in a daemon's journal did, and push "
                                    "its events (no scenario).")] = None) -> None:
    """Run the emulator in the foreground.

    With --replay JOURNAL, a daemon's journal plays the server: requests get its recorded
    answers in order, its events come at their recorded times after the request before
    them, and a request it cannot answer gets HTTP 406 and a line `emulator: replay: not
    in the journal: ...` naming the recorded request it differs from."""
    from daemon import emulator

    try:
        emulator.run(host=host, port=port, scenario=scenario, time_scale=time_scale,
                     port_file=port_file, manual_clock=manual_clock, replay=replay)
    except (emulator.ScenarioError, emulator.OptionError) as exc:
        render.fail(str(exc), int(Exit.USAGE))
    except OSError as exc:
        render.fail(f"the emulator cannot start: {exc} (choose another --port)", int(Exit.CONFIG))


@app.command()
def scenario(json: Json = False) -> None:
    """Print the built-in demo scenario (a starting point for your own): TOML, or with
    --json the same scenario as JSON."""
    from daemon import emulator

    text = emulator.demo_scenario_text()
    if json:
        import tomllib

        render.emit_json(tomllib.loads(text))
    else:
        print(text, end="")


EmulatorUrl = Annotated[Optional[str], typer.Option(
    "--url", help="The emulator's URL (default: server.host and server.port).")]


def _admin(url: str | None, ask: Callable[["Admin"], dict]) -> dict:
    """Ask the emulator at url (default: the profile's server) through its admin client."""
    from daemon.emulator.admin import Admin, AdminError

    if url is None:
        settings = profile.load()
        url = f"http://{settings['server.host']}:{settings['server.port']}"
    try:
        return ask(Admin(url))
    except AdminError as exc:
        hint = "" if exc.status else " (is it running? `cc emulator run` starts one; or give --url)"
        render.fail(f"{exc}{hint}", int(Exit.SERVER))


@app.command("call-in")
def call_in(from_: Annotated[str, typer.Option(
                "--from", help="The caller's number, or anonymous (no caller ID).")],
            to: Annotated[str, typer.Option("--to", help="The agent's extension.")],
            url: EmulatorUrl = None, json: Json = False) -> None:
    """Make the emulator place an incoming call to an extension."""
    result = _admin(url, lambda admin: admin.call_in(from_, to))
    if json:
        render.emit_json(result)
    else:
        print(f"incoming call {result['IDCall']} from {from_} to {to}")


@app.command()
def subscribe(events_url: Annotated[Optional[str], typer.Argument(
                  help="Where the emulator pushes events (default: the running daemon's "
                       "listener, its events_url).")] = None,
              url: EmulatorUrl = None, json: Json = False) -> None:
    """Make the emulator push events to a daemon, as a server's eventsURL does."""
    from daemon.emulator.scenario import EVENTS_URL_FORM, is_valid_events_url

    if events_url is None:
        events_url = _daemon_events_url()
    elif not is_valid_events_url(events_url):
        render.fail(f"'{events_url}' is not an events URL: give {EVENTS_URL_FORM}",
                    int(Exit.BAD_INPUT))
    result = _admin(url, lambda admin: admin.subscribe(events_url))
    if json:
        render.emit_json(result)
    else:
        print(f"the emulator pushes events to {result['Subscribed']}")


def _daemon_events_url() -> str:
    try:
        return client.request("status")["events_url"]
    except WireError as exc:
        if exc.code != ErrorCode.NOT_RUNNING:
            raise
        render.fail(f"{exc.message}; or give the URL yourself: `cc emulator subscribe EVENTS_URL`",
                    int(Exit.DAEMON_NOT_RUNNING))
