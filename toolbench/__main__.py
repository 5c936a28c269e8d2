"""``python -m toolbench`` is the ``toolbench`` command."""

from toolbench.cli import main

main()
