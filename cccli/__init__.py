"""cc: the thin command line over the cc daemon."""
