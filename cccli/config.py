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
    """Change a setting in the config file; comments and layout are kept."""
    shown = profile.shown(key, profile.set_value(key, value))
    render.out({key: shown}, json, f"{key} = {render_value(shown)}")


def render_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
