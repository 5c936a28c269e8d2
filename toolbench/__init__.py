"""toolbench."""
