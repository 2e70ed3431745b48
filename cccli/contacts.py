"""`cc contacts`: the local directory of contacts and accounts."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from daemon import phone
from daemon.wire import ErrorCode, WireError

from . import client, picker, render
from .options import Json

USAGE = ("cc contacts [QUERY] | import FILE | add NAME [--account A] [--phone N]... | "
         "add-number CONTACT NUMBER | history CONTACT")


def contacts(words: Annotated[Optional[list[str]], typer.Argument(
                 metavar="[QUERY | import FILE | add NAME | add-number CONTACT NUMBER | "
                         "history CONTACT]",
                 help="Search by name, account or any part of a number; or an action.")]
             = None,
             account: Annotated[str, typer.Option(help="With add: the contact's account.")]
             = "",
             phones: Annotated[Optional[list[str]], typer.Option(
                 "--phone", help="With add: a phone number (repeat for several).")] = None,
             json: Json = False) -> None:
    """Contacts and accounts with their phone numbers; import CSV or vCard."""
    words = words or []
    action, rest = (words[0], words[1:]) if words else ("", [])
    if action == "import" and len(rest) == 1:
        result = client.request("contacts_import", timeout=3600, **client.file_argument(rest[0]))
        render.imported(result, "contacts", json)
    elif action == "add" and len(rest) == 1:
        numbers = [phone.clean(p) for p in phones or []]
        found = client.request("contacts_add", name=rest[0], account=account, phones=numbers)
        render.out(found, json, render.contact_line)
    elif action == "add-number" and len(rest) == 2:
        found = client.request("contacts_add_number", contact=rest[0],
                               number=phone.clean(rest[1]))
        render.out(found, json, render.contact_line)
    elif action == "history" and len(rest) == 1:
        render.out(client.request("contacts_history", contact=rest[0]), json, _history)
    elif action in ("import", "add", "add-number", "history"):
        raise WireError(ErrorCode.BAD_INPUT, f"usage: {USAGE}")
    else:
        render.out(client.request("contacts", query=" ".join(words)), json,
                   lambda found: "\n".join(map(render.contact_line, found)),
                   empty=f"no contact matches '{' '.join(words)}'" if words else
                   "no contacts yet: `cc contacts import FILE` or `cc contacts add`")


def _history(result: dict) -> str:
    lines = [render.contact_line(result["contact"])]
    lines += [f"  {call['id']:>6}  {render.local_time(call['started_at'])}  "
              f"{render.arrow(call['direction'])} {call['number']}  {call['outcome']}  talk "
              f"{render.duration(call['talk_seconds'])}" for call in result["calls"]] \
        or ["  no calls"]
    return "\n".join(lines)


def pick_number(name: str, pick: int | None) -> str:
    """a contact's number; with several, `--pick N`, or a choice at a terminal."""
    contact = client.request("contacts_one", name=name)
    if not contact["phones"]:
        raise WireError(ErrorCode.BAD_INPUT, f"{contact['name']} has no phone number: add one "
                        f"with `cc contacts add-number '{contact['name']}' NUMBER`")
    return picker.choose(list(zip(contact["phones"], contact["dial"])),
                         f"call {contact['name']} on: ", contact["name"], "number", pick,
                         gave_up="nothing dialled")
