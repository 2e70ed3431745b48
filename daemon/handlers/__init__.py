"""The daemon's commands, one module per group; `registry.TABLE` lists them all.

A request is checked against the table before its handler runs; a deliberate failure
(`WireError`, or the server's refusal) is answered with its code, anything else is a
bug: logged with its traceback and answered as `failed`.
"""

from __future__ import annotations

import json
import logging
import sqlite3

from ..infinity import InfinityError
from ..store import RESTART_HINT, is_damage
from ..wire import ErrorCode, WireError, reply_error, reply_ok
from . import agent, calls, card, catalog, contacts, log, remind, system, transfer  # noqa: F401
from . import files, who  # noqa: F401
from .context import REMOTE, Context
from .registry import TABLE

logger = logging.getLogger("cc.requests")


def parse_request(body: bytes) -> tuple[str, dict]:
    """(command, arguments) of a request, or bad_input saying what is wrong with it."""
    try:
        msg = json.loads(body)
    except (ValueError, RecursionError):
        raise WireError(ErrorCode.BAD_INPUT, "malformed request: not JSON") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("cmd"), str):
        raise WireError(ErrorCode.BAD_INPUT, "malformed request: no \"cmd\" text")
    args = msg.get("args") or {}
    if not isinstance(args, dict):
        raise WireError(ErrorCode.BAD_INPUT, "malformed request: \"args\" is not an object")
    try:        # a lone surrogate (bytes of another encoding): no answer could carry it
        json.dumps(msg, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise WireError(ErrorCode.BAD_INPUT, "the request holds text that is not UTF-8 (bytes "
                        "of another encoding on the command line?): retype it as UTF-8"
                        ) from None
    return msg["cmd"], args


async def answer(ctx: Context, body: bytes, remote: bool = False) -> bytes:
    """The reply to one request; `remote`: it came over the remote endpoint."""
    name = "?"
    token = REMOTE.set(remote)
    try:
        name, args = parse_request(body)
        command = TABLE.get(name)
        if command is None:
            raise WireError(ErrorCode.UNKNOWN_COMMAND, f"the daemon does not know '{name[:40]}';"
                            " is cc newer than the running daemon? (`cc daemon stop`)")
        result = await command.handler(ctx, **command.arguments(args))
    except WireError as exc:
        return reply_error(exc.code, exc.message)
    except InfinityError as exc:
        return reply_error(ErrorCode.SERVER, f"the server refused: {exc}")
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            logger.exception("request %.40r failed", name)
            return reply_error(ErrorCode.FAILED, f"the call log cannot be used now: {exc}")
        return reply_error(ErrorCode.FAILED, f"the call log {ctx.store.path} is damaged "
                           f"({exc}); {RESTART_HINT}")
    except Exception:   # a bug must not take the daemon down, nor pass for bad input
        logger.exception("request %.40r failed", name)   # never its arguments: a password
        return reply_error(ErrorCode.FAILED, "internal error, see daemon.log")
    finally:
        REMOTE.reset(token)
    return reply_ok(result)
