"""The one home of the files the stages exchange (see docs/architecture.md):

- :mod:`toolbench.formats.jsonl`: reading JSON and JSON-lines files, errors naming the file and line;
- :mod:`toolbench.formats.atomic`: writing a file or a folder atomically (write aside, then rename);
- :mod:`toolbench.formats.finish`: the ``Finish`` function's names and the reading of its arguments;
- :mod:`toolbench.formats.answers`: ToolBench's answer files (DFSDT / ReACT answer trees), read and written.
"""
