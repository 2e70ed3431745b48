"""Options every command shares."""

from typing import Annotated, Optional

import typer

from . import complete

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def template_option(listing: str, example: str, more: str = ""):
    """`--format TEMPLATE` of a listing: one line per item (daemon.templates)."""
    return Annotated[Optional[str], typer.Option(
        "--format", "-f", metavar="TEMPLATE",
        help=f"One line per {listing} from a template, e.g. '{example}': the --json "
             f"fields in braces, with Python's format specs ({{name:<20}}){more}.")]


CallId = Annotated[Optional[str], typer.Option(
    "--call", autocompletion=complete.call_ids,
    help="The call's id (see `cc status`); default: the current call.")]

# The call card, shared by `cc wrapup` and `cc log edit`.
CardType = Annotated[Optional[str], typer.Option("--type", help="Call type (catalogue).")]
CardSubject = Annotated[Optional[str], typer.Option("--subject", help="What the call was "
                                                    "about.")]
CardResult = Annotated[Optional[str], typer.Option("--result", help="Call result "
                                                   "(catalogue).")]
CardLinks = Annotated[Optional[list[str]], typer.Option(
    "--link", help="KIND=VALUE with KIND task, sale, project, project_path, incident, "
                   "campaign or survey (repeatable).")]
CardNote = Annotated[Optional[str], typer.Option("--note", help="Add a note to the call.")]


def card_fields(call_type, subject, result, links, note) -> dict:
    fields = {k: v for k, v in (("call_type", call_type), ("subject", subject),
                                ("result", result), ("note", note)) if v is not None}
    # An empty value takes the link off the card.
    fields.update({f"link_{kind}": value
                   for kind, value in parse_links(links, empty=True).items()})
    return fields


def parse_links(links: list[str] | None, empty: bool = False) -> dict[str, str]:
    """`--link KIND=VALUE` options as {kind: value}; the daemon checks the kinds."""
    from daemon.wire import ErrorCode, WireError

    parsed: dict[str, str] = {}
    for link in links or []:
        kind, sep, value = (part.strip() for part in link.partition("="))
        if not sep or not kind:
            raise WireError(ErrorCode.BAD_INPUT,
                            f"--link '{link}': write KIND=VALUE, e.g. task=1234")
        if not value and not empty:
            raise WireError(ErrorCode.BAD_INPUT, f"--link '{link}': give the {kind}'s "
                            f"value, e.g. {kind}=1234")
        if kind in parsed:
            raise WireError(ErrorCode.BAD_INPUT, f"--link {kind} given twice: a card has "
                            f"one {kind} link")
        parsed[kind] = value
    return parsed
