"""The former name of :mod:`toolbench.catalog.arguments` (call-argument validation), kept only for the modules of
the shared tool-call step that still import it (``toolbench/toolstep.py``, ``toolbench/agent/graph.py``, being
edited under issue 18); import :mod:`toolbench.catalog.arguments`, and remove this file once nothing imports it.
``toolbench catalog validate`` lives in :mod:`toolbench.catalog.validate_catalog`."""

from toolbench.catalog.arguments import ArgumentError, validate_arguments, validate_call, validation_schema

__all__ = ["ArgumentError", "validate_arguments", "validate_call", "validation_schema"]
