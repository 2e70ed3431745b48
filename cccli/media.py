"""`cc play` and `cc kb`: a call's recording, and the knowledge base."""

from __future__ import annotations

import shutil
import subprocess
from typing import Annotated, Optional

import typer

from daemon import profile
from daemon.wire import ErrorCode, Exit, WireError

from . import client, picker, render
from .options import Json

PLAYERS = (("pw-play", []), ("paplay", []), ("aplay", ["-q"]), ("ffplay", ["-nodisp",
           "-autoexit", "-loglevel", "quiet"]), ("mpv", ["--no-video", "--really-quiet"]),
           ("play", ["-q"]))


def play(log_id: Annotated[Optional[int], typer.Argument(
             help="A call log id (see `cc log`); default: the last call.")] = None,
         pick: Annotated[Optional[int], typer.Option(
             "--pick", help="Which recording, when the call has several (1, 2, ...).")]
         = None,
         no_play: Annotated[bool, typer.Option(
             "--no-play", help="Only fetch and print the file's path.")] = False,
         json: Json = False) -> None:
    """Fetch a call's recording and play it with a player found here, or print its path."""
    found = client.request("recordings", log_id=log_id, timeout=60)
    chosen = picker.choose([(r["path"], r) for r in found], "play: ", "the call", "recording",
                           pick, gave_up="nothing played")
    if json:
        render.emit_json(chosen)
        return
    player = None if no_play else next(
        ((name, args) for name, args in PLAYERS if shutil.which(name)), None)
    if player is None:
        print(chosen["path"])
        if not no_play:
            render.fail(f"no audio player found (tried {', '.join(n for n, _ in PLAYERS)}); "
                        f"the recording is at {chosen['path']}", Exit.FAILED)
        return
    print(f"playing {chosen['path']} with {player[0]}")
    subprocess.run([player[0], *player[1], chosen["path"]], check=False)


def kb(subject: Annotated[Optional[str], typer.Argument(
           help="What to look up; default: the subject on the card of the call being "
                "filled in (see `cc wrapup`).")] = None,
       log_id: Annotated[Optional[int], typer.Option(
           "--id", min=1, help="Look up the subject of this logged call instead.")] = None,
       json: Json = False) -> None:
    """Look a subject up in the knowledge base (kb.url with {subject})."""
    import urllib.parse
    import webbrowser

    template = profile.load()["kb.url"]
    if not template:
        raise WireError(ErrorCode.CONFIG, "no knowledge base: cc config set kb.url "
                        "'https://kb.example/search?q={subject}'")
    if subject is not None and log_id is not None:
        raise WireError(ErrorCode.BAD_INPUT, "give a SUBJECT or --id, not both")
    if subject is None:
        subject = _card_subject(log_id)
    url = template.replace("{subject}", urllib.parse.quote(subject))
    render.out({"url": url, "subject": subject}, json, url)
    if not json and picker.at_terminal():
        webbrowser.open(url)


def _card_subject(log_id: int | None) -> str:
    """The subject on the card of the logged call `log_id`, or of the call being filled in."""
    card = client.request("card", log_id=log_id)
    if not card:
        raise WireError(ErrorCode.BAD_INPUT, "nothing to look up: the call log is empty; "
                        "give a subject: cc kb SUBJECT")
    if not (card.get("subject") or "").strip():
        fill = f"cc log edit {log_id} --subject TEXT" if log_id else "cc wrapup --subject TEXT"
        raise WireError(ErrorCode.BAD_INPUT, f"call {card['id']} ({card['counter_number']}) "
                        f"has no subject: fill it in (`{fill}`) or give one: cc kb SUBJECT")
    return card["subject"]
