"""The wire to the Infinity HTTP integration module."""
