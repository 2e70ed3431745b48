"""Contacts and accounts with their numbers (F5, F31, F39, F40, F45)."""

from __future__ import annotations

from typing import Annotated

from .. import phone
from .context import Context
from .registry import Length, command

Name = Annotated[str, Length(1, 200)]
Path = Annotated[str, Length(1, 4096)]
Number = Annotated[str, Length(1, 64)]


@command("contacts", "Contacts matching QUERY (a name, an account, part of a number).")
async def contacts(ctx: Context, query: Annotated[str, Length(0, 200)] = "") -> list[dict]:
    return ctx.contacts.search(query)


@command("contacts_one", "The one contact NAME names (an error names the candidates).")
async def contacts_one(ctx: Context, name: Name) -> dict:
    return ctx.contacts.one(name)


@command("contacts_import", "Import contacts from the CSV or vCard file PATH.")
async def contacts_import(ctx: Context, path: Path) -> dict:
    count, skipped = ctx.contacts.import_file(path)
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
