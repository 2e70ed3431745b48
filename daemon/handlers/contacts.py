"""Contacts and accounts with their numbers; the contact and account a call's card is
linked to (F5, F31, F39, F40, F45, F51, F52)."""

from __future__ import annotations

from typing import Annotated

from .. import lookup, phone
from ..contacts import named
from ..folding import fold
from ..wire import MAX_REQUEST_BYTES, NUMBER_KINDS, ErrorCode, WireError
from .card import agent_of, edit_card
from .context import REMOTE, Context
from .registry import Length, LogId, OneOf, Range, command

Name = Annotated[str, Length(1, 200)]
Path = Annotated[str, Length(1, 4096)] | None
Text = Annotated[str, Length(1, MAX_REQUEST_BYTES)] | None
Number = Annotated[str, Length(1, 80)]
Kind = Annotated[str, OneOf(NUMBER_KINDS)]
Numbers = Annotated[list[Number], Length(0, 50)] | None
IMPORT_HELP = ("PATH names a regular file on the daemon's machine of at most import.max_bytes; "
               "or TEXT is the file's content, NAME naming it in messages (a remote client "
               "sends TEXT).")


def import_reader(ctx: Context, path: str | None, text: str | None, name: str | None):
    """What an import is to read, checked before it starts (`lookup.import_reader`)."""
    return lookup.import_reader(path, text, name, REMOTE.get(),
                                ctx.settings["import.max_bytes"])


def _numbers(phones: list[str] | None) -> list[tuple[str, str]]:
    """(number, kind) of each `NUMBER` or `KIND:NUMBER`, the number checked."""
    return [(phone.clean(number), kind) for number, kind in map(phone.kinded, phones or [])]


@command("contacts", "Contacts matching QUERY (a name, an account, part of a number).")
async def contacts(ctx: Context, query: Annotated[str, Length(0, 200)] = "") -> list[dict]:
    return ctx.contacts.search(query)


@command("contact_names", "Up to LIMIT contacts whose name starts with PREFIX, in any case, "
                         "with their account (what a Tab offers).")
async def contact_names(ctx: Context, prefix: Annotated[str, Length(0, 200)] = "",
                        limit: Annotated[int, Range(1, 200)] = 50) -> list[dict]:
    return ctx.contacts.names(prefix, limit)


@command("contacts_one", "The one contact NAME names (an error names the candidates).")
async def contacts_one(ctx: Context, name: Name) -> dict:
    return ctx.contacts.one(name)


@command("contacts_import", "Import contacts from a CSV or vCard file; a contact already "
                            "there (same name, a number in common) is updated, not doubled. "
                            + IMPORT_HELP)
async def contacts_import(ctx: Context, path: Path = None, text: Text = None,
                          name: Path = None) -> dict:
    read = import_reader(ctx, path, text, name)
    return await ctx.contacts.import_file(read)


@command("contacts_add", "Add the contact NAME with its ACCOUNT (made if new) and PHONES "
                         "(each NUMBER or KIND:NUMBER).")
async def contacts_add(ctx: Context, name: Name, account: Annotated[str, Length(0, 200)] = "",
                       phones: Numbers = None) -> dict:
    return ctx.contacts.add(name, account, _numbers(phones))


@command("contacts_add_number", "Add NUMBER of KIND to the contact CONTACT, or to the account "
                                "CONTACT names exactly.")
async def contacts_add_number(ctx: Context, contact: Name, number: Number,
                              kind: Kind = "other") -> dict:
    return ctx.contacts.add_number(contact, phone.clean(number), kind)


@command("contacts_edit", "Rename the contact CONTACT to NAME, or give it the ACCOUNT (made if "
                          "new; \"\" for none).")
async def contacts_edit(ctx: Context, contact: Name, name: Name | None = None,
                        account: Annotated[str, Length(0, 200)] | None = None) -> dict:
    if name is None and account is None:
        raise WireError(ErrorCode.BAD_INPUT, "say what to change: a new name (--name) or an "
                        "account (--account)")
    return ctx.contacts.edit(contact, name, account)


@command("contacts_rm", "Remove the contact CONTACT with its numbers (its calls keep its "
                        "name).")
async def contacts_rm(ctx: Context, contact: Name) -> dict:
    return ctx.contacts.remove(contact)


@command("contacts_history", "The contact CONTACT and its calls.")
async def contacts_history(ctx: Context, contact: Name) -> dict:
    found, calls = ctx.contacts.history(contact)
    return {"contact": found, "calls": calls}


@command("accounts", "Accounts matching QUERY (a name or part of a number).")
async def accounts(ctx: Context, query: Annotated[str, Length(0, 200)] = "") -> list[dict]:
    return ctx.contacts.accounts(query)


@command("accounts_add", "Add the account NAME with its PHONES (each NUMBER or KIND:NUMBER).")
async def accounts_add(ctx: Context, name: Name, phones: Numbers = None) -> dict:
    return ctx.contacts.add_account(name, _numbers(phones))


@command("accounts_add_number", "Add NUMBER of KIND to the account ACCOUNT.")
async def accounts_add_number(ctx: Context, account: Name, number: Number,
                              kind: Kind = "other") -> dict:
    return ctx.contacts.add_account_number(account, phone.clean(number), kind)


@command("accounts_show", "The one account ACCOUNT names, with its numbers and contacts.")
async def accounts_show(ctx: Context, account: Name) -> dict:
    return ctx.contacts.account_one(account)


@command("accounts_rm", "Remove the account ACCOUNT with its numbers (its contacts stay, "
                        "without an account; its calls keep its name).")
async def accounts_rm(ctx: Context, account: Name) -> dict:
    return ctx.contacts.remove_account(account)


@command("accounts_history", "The account ACCOUNT and its calls.")
async def accounts_history(ctx: Context, account: Name) -> dict:
    found, calls = ctx.contacts.account_history(account)
    return {"account": found, "calls": calls}


@command("log_contact", "Link the logged call LOG_ID (default: the call in wrap-up, else the "
                        "call on the line, else the last call) to the contact CONTACT (\"\" "
                        "clears it), the PICK-th contact found by its number, or a NEW_CONTACT "
                        "made from the call (its number of KIND, the card's account); and to "
                        "the account ACCOUNT (\"\" clears it) or a NEW_ACCOUNT; and fills in "
                        "the card's FIELDS as log_edit does. Nothing is written unless all "
                        "of it can be. Answers the call and the contacts found by its "
                        "number.")
async def log_contact(ctx: Context, log_id: LogId | None = None,
                      contact: Annotated[str, Length(0, 200)] | None = None,
                      pick: Annotated[int, Range(1, 1000)] | None = None,
                      new_contact: Name | None = None, kind: Kind = "other",
                      account: Annotated[str, Length(0, 200)] | None = None,
                      new_account: Name | None = None,
                      fields: dict[str, str] | None = None) -> dict:
    row = _card_row(ctx, log_id)
    found = ctx.contacts.by_number(row["number"]) if row["number"] else []
    if sum(x is not None for x in (contact, pick, new_contact)) > 1:
        raise WireError(ErrorCode.BAD_INPUT, "say who called in one way: a contact's name, "
                        "--pick N, or a new contact")
    if account is not None and new_account is not None:
        raise WireError(ErrorCode.BAD_INPUT, "name the call's account, or make a new one: "
                        "not both")
    # Everything is looked up and checked before anything is written.
    links: dict = {}
    if account == "":
        links.update(account="", account_id=None)
    elif account is not None:
        given = ctx.contacts.account_one(account)
        links.update(account=given["name"], account_id=given["id"])
    elif new_account is not None and ctx.contacts.account_named(new_account) is not None:
        raise WireError(ErrorCode.BAD_INPUT, f"the account '{new_account.strip()}' exists "
                        "already: link the call to it with --account")
    chosen = None
    if pick is not None:
        if not found:
            raise WireError(ErrorCode.BAD_INPUT, f"no contact has the number of call "
                            f"{row['id']} ({row['number'] or 'no number'}): give a name, or "
                            "make one from the call")
        if pick > len(found):
            raise WireError(ErrorCode.BAD_INPUT, f"--pick {pick}: {len(found)} contact(s) "
                            f"have the number {row['number']}")
        chosen = found[pick - 1]
    elif new_contact is not None:
        if not row["number"] or not phone.is_number(row["number"]):
            raise WireError(ErrorCode.BAD_INPUT, f"call {row['id']} has no number to give a "
                            "new contact: add the contact with `cc contacts add`")
    elif contact == "":
        links.update(contact="", contact_id=None)
    elif contact is not None:
        chosen = _among(found, contact) or ctx.contacts.one(contact)
    for name, what in ((new_contact, "contact"), (new_account, "account")):
        if name is not None:
            named(name, what)
    if fields:      # the card's other fields (FIELDS as `log_edit` takes them), checked too
        edit_card(ctx, row["id"], fields)
    if new_account is not None:
        made = ctx.contacts.add_account(new_account)
        links.update(account=made["name"], account_id=made["id"])
    if new_contact is not None:
        # F40: the new contact's account is the card's (the one named here, if any).
        account_id = links["account_id"] if "account_id" in links else row.get("account_id")
        chosen = ctx.contacts.add(new_contact, "", [(row["number"], kind)])
        if account_id:
            chosen = ctx.contacts.set_account(chosen["id"], account_id)
    if chosen is not None:
        links.update(contact=chosen["name"], contact_id=chosen["id"])
        if chosen["account_id"] and "account_id" not in links:
            links.update(account=chosen["account"], account_id=chosen["account_id"])
    if links:
        return {"call": _link(ctx, row, links), "found": found}
    return {"call": ctx.store.get(row["id"]), "found": found}


def _among(found: list[dict], name: str) -> dict | None:
    """The one contact found by the number that NAME names, if one does."""
    query = fold(name.strip())
    exact = [c for c in found if fold(c["name"]) == query]
    partial = [c for c in found if query in fold(c["name"])]
    return (exact or partial)[0] if len(exact) == 1 or len(partial) == 1 else None


def _card_row(ctx: Context, log_id: int | None) -> dict:
    if log_id is None:
        wrapped = ctx.session.wrapup_call
        active = [c for c in ctx.tracker.active() if c.log_id]
        log_id = wrapped.log_id if wrapped and wrapped.log_id else \
            active[0].log_id if len(active) == 1 else (ctx.store.last() or {}).get("id")
    row = ctx.store.get(log_id) if log_id is not None else None
    if row is None:
        raise WireError(ErrorCode.NO_SUCH_CALL, f"no call {log_id} in the call log (see "
                        "`cc log`)" if log_id is not None else "the call log is empty")
    return {**row, **ctx.store.links(row["id"])}


def _link(ctx: Context, row: dict, links: dict) -> dict:
    """Write the card's links; a call still tracked takes them too, so its next change
    does not write the old ones back."""
    ctx.store.edit(row["id"], links, by=agent_of(ctx))
    for call in ctx.tracker.calls.values():
        if call.log_id == row["id"] and not call.logged:
            for name, value in links.items():
                setattr(call, name, value)
            ctx.tracker.save(call)
    return ctx.store.get(row["id"])
