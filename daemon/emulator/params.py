"""Reading a request's query parameters; what is missing or malformed is an ApiError."""

from __future__ import annotations

import math

from .. import phone
from .calls import ApiError


def param(query, name: str) -> str:
    value = query.get(name)
    if value is None or not value.strip():
        raise ApiError(f"Missing parameter {name}")
    return value.strip()


def int_param(query, name: str) -> int:
    value = param(query, name)
    if not value.isdigit():
        raise ApiError(f"Malformed parameter {name}: {value!r} is not a whole number")
    return int(value)


def number_param(query, name: str, also: str = "") -> str:
    value = param(query, name)
    number = phone.strip(value)
    if not phone.dialable(number):
        raise ApiError(f"Malformed parameter {name}: {value!r} is not a phone number{also}")
    return number


def float_param(query, name: str, default: float | None = None, *, above_zero: bool = False,
                also: str = "") -> float:
    """A finite number of seconds, 0 or more (more than 0 if above_zero); `also` adds to
    the refusal what else the parameter may be."""
    value = query.get(name)
    if value is None or not value.strip():
        if default is None:
            raise ApiError(f"Missing parameter {name}")
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not math.isfinite(number) or number < 0 or (above_zero and number == 0):
        wanted = " greater than 0" if above_zero else ""
        raise ApiError(f"Malformed parameter {name}: {value!r} is not a number of "
                       f"seconds{wanted}{also}")
    return number


def normalize_path(path: str) -> str:
    return path if path.endswith("/") else path + "/"
