"""Contacts and accounts with their numbers (F5, F31, F39, F40, F45)."""

from __future__ import annotations

from typing import Annotated

from .. import lookup, phone
from ..wire import MAX_REQUEST_BYTES
from .context import REMOTE, Context
from .registry import Length, command

Name = Annotated[str, Length(1, 200)]
Path = Annotated[str, Length(1, 4096)] | None
Text = Annotated[str, Length(1, MAX_REQUEST_BYTES)] | None
Number = Annotated[str, Length(1, 64)]
IMPORT_HELP = ("PATH names a regular file on the daemon's machine of at most import.max_bytes; "
               "or TEXT is the file's content, NAME naming it in messages (a remote client "
               "sends TEXT).")


def import_reader(ctx: Context, path: str | None, text: str | None, name: str | None):
    """What an import is to read, checked before it starts (`lookup.import_reader`)."""
    return lookup.import_reader(path, text, name, REMOTE.get(),
                                ctx.settings["import.max_bytes"])


@command("contacts", "Contacts matching QUERY (a name, an account, part of a number).")
async def contacts(ctx: Context, query: Annotated[str, Length(0, 200)] = "") -> list[dict]:
    return ctx.contacts.search(query)


@command("contacts_one", "The one contact NAME names (an error names the candidates).")
async def contacts_one(ctx: Context, name: Name) -> dict:
    return ctx.contacts.one(name)


@command("contacts_import", "Import contacts from a CSV or vCard file. " + IMPORT_HELP)
async def contacts_import(ctx: Context, path: Path = None, text: Text = None,
                          name: Path = None) -> dict:
    read = import_reader(ctx, path, text, name)
    count, skipped = await ctx.contacts.import_file(read)
    return {"imported": count, "skipped": skipped}


@command("contacts_add", "Add the contact NAME with its ACCOUNT and PHONES.")
async def contacts_add(ctx: Context, name: Name, account: Annotated[str, Length(0, 200)] = "",
                       phones: Annotated[list[Number], Length(0, 50)] | None = None) -> dict:
    return ctx.contacts.add(name, account, [phone.clean(p) for p in phones or []])


@command("contacts_add_number", "Add NUMBER to the contact CONTACT.")
async def contacts_add_number(ctx: Context, contact: Name, number: Number) -> dict:
    return ctx.contacts.add_number(contact, phone.clean(number))


@command("contacts_history", "The contact CONTACT and its calls.")
async def contacts_history(ctx: Context, contact: Name) -> dict:
    found, calls = ctx.contacts.history(contact)
    return {"contact": found, "calls": calls}
