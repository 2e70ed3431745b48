"""cc daemon: keeps the Infinity session, tracks calls, records the call log."""
