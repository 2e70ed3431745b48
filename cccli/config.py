"""`cc config path|get|set`: the profile's settings, edited in place (comments kept)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from daemon import profile

from . import complete, render
from .options import Json

app = typer.Typer(help="Show and change settings.", no_args_is_help=True)


@app.command()
def path(json: Json = False) -> None:
    """Where this profile keeps its config, data, journal and sockets."""
    p = profile.paths()
    places = {"config": str(p.config_file), "database": str(p.database),
              "journal": str(p.journal), "sockets": str(p.run_dir), "log": str(p.daemon_log)}
    render.out(places, json, places["config"])


@app.command()
def get(key: Annotated[Optional[str], typer.Argument(autocompletion=complete.setting_keys,
                                                      help="A setting, e.g. server.host; "
                                                      "without it, all of them.")] = None,
        json: Json = False) -> None:
    """Show one setting or all (secrets show as ***)."""
    values = profile.load()
    if key is not None:
        profile.setting(key)
        value = profile.shown(key, values[key])
        render.out({key: value}, json, render_value(value))
        return
    render.out({k: profile.shown(k, v) for k, v in values.items()}, json,
               lambda shown: "\n".join(f"{k} = {render_value(v)}" for k, v in shown.items()))


@app.command("set", context_settings={"ignore_unknown_options": True})   # VALUE may be -1
def set_(key: Annotated[str, typer.Argument(help="A setting, e.g. server.port.",
                                            autocompletion=complete.setting_keys)],
         value: Annotated[str, typer.Argument(help="Its new value.")],
         json: Json = False) -> None:
    """Change a setting in the config file; comments and layout are kept. A running daemon
    takes it at once, at its next log-on, or after `cc daemon restart`: the output says
    which."""
    shown = profile.shown(key, profile.set_value(key, value))
    when = _tell_daemon(key)
    render.out({key: shown, "daemon": when}, json,
               f"{key} = {render_value(shown)}" + (f"\n{DAEMON_TAKES[when]}" if when in
                                                    DAEMON_TAKES else ""))


DAEMON_TAKES = {
    profile.NOW: "the running daemon uses it now",
    profile.AT_LOGIN: "the running daemon uses it at its next log-on (`cc login`)",
    profile.AT_RESTART: "the running daemon keeps the old value until `cc daemon restart`",
    "remote": "this profile's file changed; the daemon at CC_REMOTE reads the settings of "
              "its own machine",
}


def _tell_daemon(key: str) -> str:
    """Have a running daemon read the file again; when it takes `key` (or not-running)."""
    from daemon.wire import ErrorCode, WireError

    from . import client

    if client.remote_endpoint():     # that daemon reads its own machine's file, not this one
        return "remote"
    try:
        client.request("reload", timeout=5)
    except WireError as exc:
        if exc.code == ErrorCode.NOT_RUNNING:
            return "not-running"
        raise WireError(exc.code, f"{key} is set in the file, but the running daemon could "
                        f"not take it: {exc.message}") from None
    return profile.applies(key)


def render_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
