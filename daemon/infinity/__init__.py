"""The wire to the Infinity HTTP integration module (docs/infinity.md).

Everything the server says is parsed here into the typed values of `values.py`; no
Infinity path or field name is used outside this package (a test checks: NAMES).
"""

from .answers import AnswerLost, BadResponse, InfinityError, Unreachable
from .client import CallAction, InfinityClient
from .events import EVENT_PATHS, EventListener

# The server's paths and the field names of its requests, answers and events. `result`,
# the answer's envelope, is left out: our call card has a field of that name too.
PATHS = (
    "/user/logon/", "/user/logoff/", "/user/getstate/", "/user/setstate/", "/call/make/",
    "/call/drop/", "/call/accept/", "/call/hold/", "/call/unhold/", "/call/quicktransfer/",
    "/call/starttransfer/", "/call/finishtransfer/", "/call/senddigits/",
    "/call/getactivecalls/", "/stat/connectionsbycall/", "/stat/getrecordedfile/",
    "/data/getdata/", *EVENT_PATHS,
)
FIELDS = (
    "Login", "Password", "IDRole", "HostHame", "IDUser", "IDUserState", "LogonResult",
    "ErrorMessage", "Extension", "IDCall", "Number", "Mode", "Tag", "Digits", "Data", "ID",
    "State", "OldState", "Direction", "ANumber", "BNumber", "AbonentNumber", "Reason",
    "AWavFile", "BWavFile", "IDConnection", "IDSeance", "AllInfo", "TimeStart",
    "DurationFull", "DurationWait", "DurationTalk", "DurationHold", "TransferFrom", "Group",
    "ProviderName", "CallState",
)
EMULATOR_ADMIN = "/_emulator/"   # the emulator's own test surface: never the daemon's

__all__ = ["AnswerLost", "BadResponse", "CallAction", "EventListener", "InfinityClient",
           "InfinityError", "Unreachable", "PATHS", "FIELDS", "EMULATOR_ADMIN"]
