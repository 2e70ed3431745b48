"""cc: the thin command line over the cc daemon."""

import sys


def _quiet_interrupt(kind, value, traceback, previous=sys.excepthook):
    """Ctrl-C while `cc` is still loading (before main() can catch it) ends it without a
    traceback; Python still reports the interrupt in the exit status."""
    if not issubclass(kind, KeyboardInterrupt):
        previous(kind, value, traceback)


sys.excepthook = _quiet_interrupt
