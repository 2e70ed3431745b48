"""Options every command shares."""

from typing import Annotated, Optional

import typer

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
CallId = Annotated[Optional[str], typer.Option("--call", help="The call's id (see `cc status`); "
                                               "default: the current call.")]
