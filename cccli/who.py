"""`cc who [QUERY]` and `cc who import FILE`: colleagues with numbers and live states."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from daemon.wire import ErrorCode, WireError

from . import client, complete, render
from .options import Json, template_option

WhoTemplate = template_option("colleague", "{name:<24} {extension} {state}",
                              "; a list is joined by \", \" and a state is its name")


def who(words: Annotated[Optional[list[str]], typer.Argument(
            metavar="[QUERY | import FILE]", autocompletion=complete.who_words,
            help="Part of a name or of a number; or `import FILE` to replace the directory "
                 "with a CSV file (header: name, position, department, extension, id_user, "
                 "phones separated by ;).")] = None,
        json: Json = False,
        format: WhoTemplate = None) -> None:
    """Colleagues: name, position, department, numbers (internal first), live state."""
    words = words or []
    format = render.template(format, "who", json)
    if words[:1] == ["import"]:
        if format is not None:
            raise WireError(ErrorCode.BAD_INPUT, "--format applies to the list of "
                            "colleagues, not to `cc who import`")
        if len(words) != 2:
            raise WireError(ErrorCode.BAD_INPUT, "usage: cc who import FILE")
        result = client.request("who_import", timeout=3600, **client.file_argument(words[1]))
        render.imported(result, "colleagues", json)
        return
    query = " ".join(words)
    render.listed(client.request("who", query=query), json, render.colleagues, format,
               empty=f"no colleague matches '{query}'" if query else
               "the directory is empty: import one with `cc who import FILE`")
