"""Import an OpenAPI 3.0 / 3.1 document as one :class:`~toolbench.records.Tool`.

The document comes from a dict, a JSON or YAML file, or an http(s) URL. Each operation (path x method)
becomes an :class:`~toolbench.records.Api`; its path, query, header and cookie parameters and the top-level
properties of its JSON request body become :class:`~toolbench.records.Param` records.

How schemas become parameters:

- every local ``$ref`` (``#/components/...``) is inlined, refs inside refs too; a ref met again while it is
  being inlined (a recursive schema) becomes ``{"type": "object", "description": "recursive: <ref>"}``;
  keys next to a ``$ref`` (a 3.1 ``description``, say) are laid over the referenced schema; one schema
  inlines at most :data:`MAX_INLINED_REFS` refs, later ones become ``{"description": "not inlined: <ref>
  ..."}`` (any value);
- OpenAPI 3.0's dialect is rewritten as JSON Schema 2020-12 so that jsonschema can check arguments against it:
  ``nullable: true`` adds ``"null"`` to ``type`` (and ``None`` to ``enum``), boolean ``exclusiveMinimum`` /
  ``exclusiveMaximum`` become numeric bounds;
- composed schemas are made plain (:mod:`.compose`): ``allOf`` parts merged into one schema, a
  ``oneOf``/``anyOf`` of one alternative and ``{"type": "null"}`` made that alternative, nullable; a union of
  several alternatives is kept as it is, its ToolBench type that of its first non-null alternative;
- a plain ``string``/``integer``/``boolean`` schema (only ``type`` and annotations such as ``description``,
  ``example``) gives ToolBench's ``STRING``/``NUMBER``/``BOOLEAN`` with no schema kept; anything else (enums,
  ``const``, arrays, objects, ``oneOf``/``anyOf``, formats, bounds, nullable types, and ``number``,
  which ToolBench's ``NUMBER`` would offer as ``integer``) keeps the resolved schema in ``Param.schema``,
  with ``type`` ``ENUM``/``ARRAY``/``OBJECT``/``STRING``/``NUMBER``/``BOOLEAN``. The schema's top-level
  ``description`` moves to ``Param.description``;
- ``Param.default`` is the schema's ``default``, else the parameter's ``example``/``examples``, else the
  schema's ``example``/``examples[0]`` (for a body property: else the request example's value), else ``""``;
- a JSON request body that is not an object with properties (an array, a ``oneOf``...) becomes one
  parameter named ``body``; so does an object body one of whose properties shares a name with a path, query,
  header or cookie parameter.

Problems with the document raise :class:`OpenAPIError` naming the source, the JSON location
(``spec.yaml: paths./orders/{id}.get.parameters[0]: missing 'name'``) and what to do.

The package: :mod:`.load` reads the document, :mod:`.document` resolves ``$ref`` and schemas, :mod:`.compose`
merges composed schemas, :mod:`.schemas` holds the pure schema helpers, :mod:`.operations` turns operations
into APIs; :func:`import_openapi` puts them together.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from toolbench.catalog.openapi.document import MAX_INLINED_REFS, OpenAPIError
from toolbench.catalog.openapi.load import DEFAULT_TIMEOUT, load_document
from toolbench.catalog.openapi.operations import (
    DEFAULT_CATEGORY,
    HTTP_METHODS,
    PARAM_IN,
    SECURITY_TYPES,
    _Spec,
)
from toolbench.records import Tool

__all__ = ["DEFAULT_CATEGORY", "DEFAULT_TIMEOUT", "HTTP_METHODS", "MAX_INLINED_REFS", "PARAM_IN", "SECURITY_TYPES",
           "OpenAPIError", "import_openapi", "load_document"]


def import_openapi(source: str | Path | dict, *, category: str | None = None, tool_name: str | None = None,
                   timeout: float = DEFAULT_TIMEOUT) -> Tool:
    """Import an OpenAPI 3.0/3.1 document as one Tool.

    ``source`` is the document itself (a dict), a JSON/YAML file path, or an http(s) URL (fetched with a
    ``timeout`` in seconds). ``category`` overrides the document's (``info.x-category``, else its first tag,
    else ``Uncategorized``); ``tool_name`` overrides ``info.title``.
    """
    doc, source_name, source_url = load_document(source, timeout=timeout)
    spec = _Spec(doc, source_name)
    spec.check_version()
    title = spec.title(tool_name)
    name = tool_name or title
    tool_category = category or spec.category()
    base_url = spec.server_url(doc.get("servers"), "servers", source_url)
    apis = spec.apis(name, tool_category, base_url, source_url)
    return Tool(
        name=name,
        title=title,
        description=spec.text(spec.info(), "description", "info") or spec.text(spec.info(), "summary", "info"),
        category=tool_category,
        base_url=base_url,
        host=urlsplit(base_url).netloc,
        auth=spec.auth_schemes(),
        apis=apis,
    )
