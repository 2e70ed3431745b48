"""The daemon's one table of commands: name -> handler, its arguments and one line of help.

A handler registers itself with `@command`; its arguments are read from its signature:
the type of each (str, int, float, bool, list[...], dict[str, ...], `| None`), its
default (none: required) and, through `Annotated`, a range, a choice or a length. The
dispatcher checks a request against that before the handler runs, so a handler trusts
its arguments.
"""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Callable, get_args, get_origin

from ..wire import ErrorCode, WireError

REQUIRED = inspect.Parameter.empty
UNBOUNDED = 2**53          # a JSON number's whole range: no upper bound worth showing


@dataclass(frozen=True)
class Rule:
    """A check beyond the type: `test` passes, or the argument "must be `says`"."""

    test: Callable[[Any], bool]
    says: str
    shown: str               # how the contract document writes it

    def check(self, value) -> str | None:
        return None if self.test(value) else f"must be {self.says}"

    def __str__(self) -> str:
        return self.shown


def Range(low: float, high: float) -> Rule:
    """A number from `low` to `high`, both included."""
    if high >= UNBOUNDED:
        return Rule(lambda v: v >= low, f"{low:g} or more", f"{low:g}..")
    return Rule(lambda v: low <= v <= high, f"from {low:g} to {high:g}", f"{low:g}..{high:g}")


def OneOf(values: tuple) -> Rule:
    return Rule(lambda v: v in values, f"one of {', '.join(map(str, values))}",
                "|".join(map(str, values)))


def Length(low: int, high: int) -> Rule:
    """A text or a list of `low` to `high` items."""
    return Rule(lambda v: low <= len(v) <= high, f"{low} to {high} long",
                f"length {low}..{high}")


def Match(pattern: str, says: str) -> Rule:
    """Text matching a regular expression whole; `says` is what it means."""
    return Rule(lambda v: re.fullmatch(pattern, v) is not None, says, f"/{pattern}/")


@dataclass(frozen=True)
class Param:
    name: str
    kind: Any                 # the annotation, Annotated metadata included
    default: Any = REQUIRED
    shared: bool = False      # one of several commands' `**shared` arguments

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def check(self, value) -> Any:
        return _check(value, self.kind, self.name)

    def describe(self) -> str:
        return _describe(self.kind)


@dataclass(frozen=True)
class Command:
    name: str
    group: str
    help: str
    params: tuple[Param, ...]
    handler: Callable

    def arguments(self, args: dict) -> dict:
        """The request's arguments, checked against the table; raises bad_input."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(args) - set(known))
        if unknown:
            raise WireError(ErrorCode.BAD_INPUT, f"{self.name} takes no argument "
                            f"'{unknown[0]}' (it takes: {', '.join(known) or 'none'})")
        checked = {}
        for param in self.params:
            if param.name in args:
                checked[param.name] = param.check(args[param.name])
            elif param.shared:
                checked[param.name] = param.default
            elif param.required:
                raise WireError(ErrorCode.BAD_INPUT, f"{self.name} needs the argument "
                                f"'{param.name}' ({param.describe()})")
        return checked


TABLE: dict[str, Command] = {}


def shared(**kinds: tuple[Any, Any]) -> tuple[Param, ...]:
    """Arguments several commands take alike (name=(kind, default)); a handler receives
    them all, defaults filled in, as `**keywords`."""
    return tuple(Param(name, kind, default, shared=True)
                 for name, (kind, default) in kinds.items())


def command(name: str, help: str, extra: tuple[Param, ...] = ()):
    """Register an `async def handler(ctx, ...)` as the daemon's command `name`."""
    def register(handler: Callable) -> Callable:
        if name in TABLE:
            raise RuntimeError(f"two handlers for the command {name}")
        hints = typing.get_type_hints(handler, include_extras=True)
        own = [p for p in list(inspect.signature(handler).parameters.values())[1:]
               if p.kind != inspect.Parameter.VAR_KEYWORD]
        params = tuple(Param(p.name, hints.get(p.name, Any), p.default) for p in own) + extra
        group = handler.__module__.rsplit(".", 1)[-1]
        TABLE[name] = Command(name, group, help, params, handler)
        return handler
    return register


def _bad(name: str, value, why: str) -> WireError:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return WireError(ErrorCode.BAD_INPUT, f"argument '{name}' {why} (got {shown})")


def _check(value, kind, name: str):
    origin = get_origin(kind)
    if origin is Annotated:
        base, *rules = get_args(kind)
        value = _check(value, base, name)
        for rule in rules:
            why = rule.check(value) if value is not None else None
            if why:
                raise _bad(name, value, why)
        return value
    if origin in (typing.Union, types.UnionType):
        arms = get_args(kind)
        if value is None and type(None) in arms:
            return None
        errors = []
        for arm in (a for a in arms if a is not type(None)):
            try:
                return _check(value, arm, name)
            except WireError as exc:
                errors.append(exc)
        raise errors[0]
    if kind is Any:
        return value
    if origin is list:
        if not isinstance(value, list):
            raise _bad(name, value, "must be a list")
        (item,) = get_args(kind) or (Any,)
        return [_check(v, item, f"{name}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise _bad(name, value, "must be an object with text keys")
        _, item = get_args(kind) or (str, Any)
        return {k: _check(v, item, f"{name}.{k}") for k, v in value.items()}
    return _scalar(value, kind, name)


def _scalar(value, kind, name: str):
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise _bad(name, value, "must be true or false")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _bad(name, value, "must be a whole number")
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and math.isfinite(value):
            return float(value)
        raise _bad(name, value, "must be a finite number")
    if kind is str:
        if isinstance(value, str):
            return value
        raise _bad(name, value, "must be text")
    raise TypeError(f"the command table cannot check {kind!r} (argument {name})")


def _describe(kind) -> str:
    origin = get_origin(kind)
    if origin is Annotated:
        base, *rules = get_args(kind)
        return f"{_describe(base)} {' '.join(map(str, rules))}"
    if origin in (typing.Union, types.UnionType):
        arms = [a for a in get_args(kind) if a is not type(None)]
        optional = len(arms) < len(get_args(kind))
        return " or ".join(_describe(a) for a in arms) + (" or null" if optional else "")
    if origin is list:
        (item,) = get_args(kind) or (Any,)
        return f"list of {_describe(item)}"
    if origin is dict:
        _, item = get_args(kind) or (str, Any)
        return f"object of {_describe(item)}"
    if kind is Any:
        return "any"
    return {bool: "bool", int: "int", float: "number", str: "text"}.get(kind, str(kind))


# Argument kinds several groups share.
LogId = Annotated[int, Range(1, UNBOUNDED)]                 # a row of the call log
CallId = Annotated[str, Length(1, 40)] | None               # an active call; None: the one
