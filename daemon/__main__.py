"""`python -m daemon`: run the daemon in the foreground (same as `cc daemon run`)."""

import sys

from .service import run_foreground

sys.exit(run_foreground())
