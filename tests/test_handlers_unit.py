"""The daemon's command table: every request is checked against it before a handler runs,
and a handler's own bug is a logged internal error, never "bad input" (in process)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated

import pytest

from daemon import handlers
from daemon.handlers.registry import TABLE, Length, OneOf, Range, command
from daemon.wire import ErrorCode, parse_reply, WireError


@pytest.fixture
def probe():
    """A command registered for the test only."""
    seen = {}

    @command("_probe", "A command for tests.")
    async def _probe(ctx, number: Annotated[int, Range(1, 10)],
                     mode: Annotated[str, OneOf(("a", "b"))] | None = None,
                     words: Annotated[list[str], Length(0, 2)] | None = None,
                     ratio: float = 1.0, flag: bool = False) -> dict:
        seen.update(number=number, mode=mode, words=words, ratio=ratio, flag=flag)
        if number == 7:
            raise KeyError("a bug in the handler")
        return seen

    yield seen
    del TABLE["_probe"]


def ask(cmd: str, **args):
    body = json.dumps({"cmd": cmd, "args": args}).encode()
    return parse_reply(asyncio.run(handlers.answer(None, body)))


def refused(cmd: str, **args) -> WireError:
    with pytest.raises(WireError) as caught:
        ask(cmd, **args)
    return caught.value


def test_a_request_within_the_table_reaches_its_handler_with_typed_arguments(probe):
    assert ask("_probe", number=3, mode="a", words=["x"], ratio=2) == {
        "number": 3, "mode": "a", "words": ["x"], "ratio": 2.0, "flag": False}


@pytest.mark.parametrize("args, named", [
    ({}, "needs the argument 'number'"),
    ({"number": 3, "colour": "red"}, "takes no argument 'colour'"),
    ({"number": "3"}, "argument 'number' must be a whole number"),
    ({"number": True}, "argument 'number' must be a whole number"),
    ({"number": 11}, "argument 'number' must be from 1 to 10"),
    ({"number": 3, "mode": "c"}, "argument 'mode' must be one of a, b"),
    ({"number": 3, "words": ["x", "y", "z"]}, "argument 'words' must be 0 to 2 long"),
    ({"number": 3, "words": [1]}, "argument 'words[0]' must be text"),
    ({"number": 3, "ratio": "NaN"}, "argument 'ratio' must be a finite number"),
    ({"number": 3, "flag": "yes"}, "argument 'flag' must be true or false"),
])
def test_a_request_outside_the_table_is_bad_input_naming_the_argument(probe, args, named):
    error = refused("_probe", **args)
    assert error.code == ErrorCode.BAD_INPUT and named in error.message
    assert probe == {}, "the handler must not run"


def test_an_infinite_number_is_refused_before_the_handler(probe):
    body = b'{"cmd": "_probe", "args": {"number": 3, "ratio": 1e999}}'
    with pytest.raises(WireError, match="finite"):
        parse_reply(asyncio.run(handlers.answer(None, body)))


def test_a_bug_in_a_handler_is_an_internal_error_logged_with_its_traceback(probe, caplog):
    caplog.set_level(logging.ERROR)
    error = refused("_probe", number=7)
    assert error.code == ErrorCode.FAILED
    assert error.message == "internal error, see daemon.log"
    assert "a bug in the handler" in caplog.text and "Traceback" in caplog.text


@pytest.mark.parametrize("body, says", [
    (b"not json", "not JSON"), (b"[1]", "no \"cmd\""), (b'{"cmd": 5}', "no \"cmd\""),
    (b'{"cmd": "ping", "args": [1]}', "\"args\" is not an object"),
])
def test_a_malformed_request_is_bad_input(body, says):
    with pytest.raises(WireError, match=says) as caught:
        parse_reply(asyncio.run(handlers.answer(None, body)))
    assert caught.value.code == ErrorCode.BAD_INPUT


def test_an_unknown_command_says_the_cli_may_be_newer():
    error = refused("teleport")
    assert error.code == ErrorCode.UNKNOWN_COMMAND and "cc daemon stop" in error.message


def test_every_command_has_help_and_checkable_arguments():
    assert len(TABLE) >= 30
    for cmd in TABLE.values():
        assert cmd.help and cmd.help[0].isupper() and cmd.help.endswith("."), cmd.name
        for param in cmd.params:
            assert param.describe(), (cmd.name, param.name)
            if not param.required and param.default is not None:
                assert param.check(param.default) == param.default, (cmd.name, param.name)
