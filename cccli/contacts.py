"""`cc contacts` and `cc accounts`: the local directory of contacts and accounts."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from daemon import phone
from daemon.wire import NUMBER_KINDS, ErrorCode, WireError

from . import client, picker, render
from .options import Json, template_option

USAGE = ("cc contacts [QUERY] | import FILE | add NAME [--account A] [--phone [KIND:]N]... | "
         "add-number CONTACT NUMBER [--kind K] | edit CONTACT [--name N] [--account A] | "
         "rm CONTACT | history CONTACT")
ACCOUNTS_USAGE = ("cc accounts [QUERY] | add NAME [--phone [KIND:]N]... | "
                  "add-number ACCOUNT NUMBER [--kind K] | show ACCOUNT | rm ACCOUNT | "
                  "history ACCOUNT")
ACTIONS = ("import", "add", "add-number", "edit", "rm", "history")
Kind = Enum("Kind", {kind: kind for kind in NUMBER_KINDS}, type=str)
KindOption = Annotated[Optional[Kind], typer.Option(
    "--kind", help="With add-number: the kind of number (fax and pager are kept, never "
                   "matched to calls nor dialled).")]
Phones = Annotated[Optional[list[str]], typer.Option(
    "--phone", help="With add: a number, or KIND:NUMBER such as mobile:+380501112233 "
                    "(repeat for several).")]

ContactTemplate = template_option("contact", "{name:<24} {phones}",
                                  "; a list is joined by \", \"")


def _numbers(phones: list[str] | None) -> list[str]:
    """Each `[KIND:]NUMBER` checked here, sent as KIND:NUMBER."""
    return [f"{kind}:{phone.clean(number)}" for number, kind in map(phone.kinded, phones or [])]


def contacts(words: Annotated[Optional[list[str]], typer.Argument(
                 metavar="[QUERY | import FILE | add NAME | add-number CONTACT NUMBER | "
                         "edit CONTACT | rm CONTACT | history CONTACT]",
                 help="Search by name, account or any part of a number; or an action.")]
             = None,
             account: Annotated[Optional[str], typer.Option(
                 help="With add or edit: the contact's account (made if new; with edit, "
                      "\"\" for none).")] = None,
             name: Annotated[Optional[str], typer.Option(
                 help="With edit: the contact's new name.")] = None,
             phones: Phones = None, kind: KindOption = None,
             json: Json = False,
             format: ContactTemplate = None) -> None:
    """Contacts with their numbers; import CSV or vCard (a second import adds nobody twice)."""
    words = words or []
    action, rest = (words[0], words[1:]) if words else ("", [])
    format = render.template(format, "contacts", json)
    if format is not None and action in ACTIONS:
        raise WireError(ErrorCode.BAD_INPUT, "--format applies to the list of contacts, "
                        f"not to `cc contacts {action}`")
    _options_fit(action, account=account, phone=phones, kind=kind, name=name)
    if action == "import" and len(rest) == 1:
        result = client.request("contacts_import", timeout=3600, **client.file_argument(rest[0]))
        render.imported(result, "contacts", json, ("added", "updated", "unchanged"))
    elif action == "add" and len(rest) == 1:
        found = client.request("contacts_add", name=rest[0], account=account or "",
                               phones=_numbers(phones))
        render.out(found, json, render.contact_line)
    elif action == "edit" and len(rest) == 1:
        given = {k: v for k, v in (("name", name), ("account", account)) if v is not None}
        render.out(client.request("contacts_edit", contact=rest[0], **given), json,
                   render.contact_line)
    elif action == "rm" and len(rest) == 1:
        gone = client.request("contacts_rm", contact=rest[0])
        render.out(gone, json, lambda found: f"removed {render.contact_line(found)}")
    elif action == "add-number" and len(rest) == 2:
        found = client.request("contacts_add_number", contact=rest[0],
                               number=phone.clean(rest[1]), kind=(kind or Kind.other).value)
        render.out(found, json, render.account_line if found.get("is_account")
                   else render.contact_line)
    elif action == "history" and len(rest) == 1:
        render.out(client.request("contacts_history", contact=rest[0]), json,
                   lambda found: _history(render.contact_line(found["contact"]),
                                          found["calls"]))
    elif action in ACTIONS:
        raise WireError(ErrorCode.BAD_INPUT, f"usage: {USAGE}")
    else:
        render.listed(client.request("contacts", query=" ".join(words)), json,
                      lambda found: "\n".join(map(render.contact_line, found)), format,
                   empty=f"no contact matches '{' '.join(words)}'" if words else
                   "no contacts yet: `cc contacts import FILE` or `cc contacts add`")


def accounts(words: Annotated[Optional[list[str]], typer.Argument(
                 metavar="[QUERY | add NAME | add-number ACCOUNT NUMBER | show ACCOUNT | "
                         "rm ACCOUNT | history ACCOUNT]",
                 help="Search by name or any part of a number; or an action.")] = None,
             phones: Phones = None, kind: KindOption = None,
             json: Json = False) -> None:
    """Accounts (companies) with numbers of their own, their contacts and their calls."""
    words = words or []
    action, rest = (words[0], words[1:]) if words else ("", [])
    _options_fit(action, phone=phones, kind=kind)
    if action == "add" and len(rest) == 1:
        render.out(client.request("accounts_add", name=rest[0], phones=_numbers(phones)),
                   json, render.account_line)
    elif action == "add-number" and len(rest) == 2:
        render.out(client.request("accounts_add_number", account=rest[0],
                                  number=phone.clean(rest[1]), kind=(kind or Kind.other).value),
                   json, render.account_line)
    elif action == "show" and len(rest) == 1:
        render.out(client.request("accounts_show", account=rest[0]), json, render.account_line)
    elif action == "rm" and len(rest) == 1:
        render.out(client.request("accounts_rm", account=rest[0]), json,
                   lambda found: f"removed {render.account_line(found)}")
    elif action == "history" and len(rest) == 1:
        render.out(client.request("accounts_history", account=rest[0]), json,
                   lambda found: _history(render.account_line(found["account"]),
                                          found["calls"], who=True))
    elif action in ("add", "add-number", "show", "rm", "history"):
        raise WireError(ErrorCode.BAD_INPUT, f"usage: {ACCOUNTS_USAGE}")
    else:
        render.out(client.request("accounts", query=" ".join(words)), json,
                   lambda found: "\n".join(map(render.account_line, found)),
                   empty=f"no account matches '{' '.join(words)}'" if words else
                   "no accounts yet: `cc accounts add NAME`, or import contacts with one")


def _options_fit(action: str, **given) -> None:
    """An option the action does not take is refused, never ignored."""
    actions = {"add": ("account", "phone"), "add-number": ("kind",),
               "edit": ("name", "account")}
    takes = actions.get(action, ())
    for name, value in given.items():
        if value is not None and name not in takes:
            where = " or ".join(a for a, names in actions.items() if name in names)
            hint = " (with add: --phone KIND:NUMBER)" if name == "kind" else ""
            raise WireError(ErrorCode.BAD_INPUT, f"--{name} goes with {where}{hint}")


def _history(title: str, calls: list[dict], who: bool = False) -> str:
    """F45: each call's card number, when, which way, the number, how it went, the card's
    result, and when it ended; with `who`, the contact who called."""
    lines = [title]
    lines += [f"  {call['counter_number'] or call['id']}  "
              f"{render.local_time(call['started_at'])}  {render.arrow(call['direction'])} "
              f"{call['number']}  {call['outcome'] or '-'}  result {call['result'] or '-'}  "
              f"talk {render.duration(call['talk_seconds'])}  ended "
              f"{render.local_time(call['ended_at']) if call['ended_at'] else '-'}"
              + (f"  {call['contact']}" if who and call["contact"] else "")
              for call in calls] or ["  no calls"]
    return "\n".join(lines)


def pick_number(name: str, pick: int | None) -> tuple[str, int]:
    """A contact's number and the contact's id; with several numbers, `--pick N`, or a
    choice at a terminal."""
    contact = client.request("contacts_one", name=name)
    if not contact["phones"]:
        raise WireError(ErrorCode.BAD_INPUT, f"{contact['name']} has no phone number: add one "
                        f"with `cc contacts add-number '{contact['name']}' NUMBER`")
    kinds = {n["number"]: n["kind"] for n in contact.get("numbers", [])}
    number = picker.choose([(f"{p} ({kinds.get(p, 'other')})", d)
                            for p, d in zip(contact["phones"], contact["dial"])],
                           f"call {contact['name']} on: ", contact["name"], "number", pick,
                           gave_up="nothing dialled")
    return number, contact["id"]
