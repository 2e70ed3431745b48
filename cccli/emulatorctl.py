"""`cc emulator run|scenario|call-in`: the reference Infinity server for tests and demos."""

from __future__ import annotations

import json as jsonlib
from typing import Annotated, Optional

import typer

from daemon import profile

from . import render
from .options import Json

app = typer.Typer(help="The Infinity server emulator (tests, demos, training).",
                  no_args_is_help=True)


@app.command()
def run(port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 10080,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        scenario: Annotated[Optional[str], typer.Option(
            help="Scenario file (TOML); default: the built-in demo.")] = None,
        time_scale: Annotated[Optional[float], typer.Option(
            help="Emulated seconds per real second (overrides the scenario).")] = None,
        port_file: Annotated[Optional[str], typer.Option(
            help="Write the port here once listening.")] = None) -> None:
    """Run the emulator in the foreground."""
    from daemon import emulator

    try:
        emulator.run(host=host, port=port, scenario=scenario, time_scale=time_scale,
                     port_file=port_file)
    except emulator.ScenarioError as exc:
        render.fail(str(exc), 2)
    except OSError as exc:
        render.fail(f"the emulator cannot start: {exc} (choose another --port)", 8)


@app.command()
def scenario() -> None:
    """Print the built-in demo scenario (a starting point for your own)."""
    from daemon import emulator

    print(emulator.demo_scenario_text(), end="")


def _admin(url: str | None, path: str, params: dict) -> dict:
    import urllib.error
    import urllib.parse
    import urllib.request

    if url is None:
        settings = profile.load()
        url = f"http://{settings['server.host']}:{settings['server.port']}"
    full = f"{url.rstrip('/')}/_emulator/{path}/?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(full, timeout=5) as resp:
            return jsonlib.loads(resp.read())["result"]
    except urllib.error.HTTPError as exc:
        try:
            message = jsonlib.loads(exc.read())["result"]["ErrorMessage"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {exc.code}"
        render.fail(f"the emulator refused: {message}", 7)
    except (urllib.error.URLError, OSError) as exc:
        render.fail(f"cannot reach the emulator at {url}: {getattr(exc, 'reason', exc)}", 7)


@app.command("call-in")
def call_in(from_: Annotated[str, typer.Option("--from", help="The caller's number.")],
            to: Annotated[str, typer.Option("--to", help="The agent's extension.")],
            url: Annotated[Optional[str], typer.Option(
                help="The emulator's URL (default: server.host and server.port).")] = None,
            json: Json = False) -> None:
    """Make the emulator place an incoming call to an extension."""
    result = _admin(url, "call-in", {"From": from_, "To": to})
    if json:
        render.emit_json(result)
    else:
        print(f"incoming call {result['IDCall']} from {from_} to {to}")
