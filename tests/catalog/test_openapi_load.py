"""OpenAPI import, :mod:`toolbench.catalog.openapi.load`: documents from a dict, JSON/YAML files and an http(s)
URL (a loopback server), and the errors for files and URLs that cannot be read."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.catalog.openapi_helpers import (
    FIXTURES,
    NOTES,
    error_of,
    params,
)
from toolbench.catalog.openapi import OpenAPIError, import_openapi


def test_dict_json_and_yaml_sources_agree(tmp_path: Path) -> None:
    doc = json.loads(NOTES.read_text())
    from_dict = import_openapi(doc)
    as_yaml = tmp_path / "notes.yml"
    import yaml

    as_yaml.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert import_openapi(as_yaml) == from_dict == import_openapi(str(NOTES))


def test_yaml_is_read_as_yaml_12_dates_and_yes_stay_strings(tmp_path: Path) -> None:
    spec = tmp_path / "dates.yaml"
    spec.write_text("""
openapi: "3.1.0"
info: {title: Dates, version: "1"}
paths:
  /days:
    get:
      parameters:
        - {name: day, in: query, schema: {type: string, format: date, default: 2024-05-01}}
        - {name: on, in: query, schema: {type: boolean, default: yes}}
      responses: {"200": {description: OK}}
""")
    assert params(import_openapi(spec), "GET /days", "optional") == [
        {"name": "day", "type": "STRING", "description": "", "default": "2024-05-01", "in": "query",
         "schema": {"type": "string", "format": "date", "default": "2024-05-01"}},
        {"name": "on", "type": "BOOLEAN", "description": "", "default": "yes", "in": "query"},
    ]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The fixtures folder over HTTP on 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(FIXTURES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_import_from_url_resolves_a_relative_server(served: str) -> None:
    tool = import_openapi(f"{served}/notes-3.1.json")
    assert tool.base_url == f"{served}/api"
    assert tool.host == served.removeprefix("http://")
    assert tool.api("listNotes").url == f"{served}/api/notes"
    assert import_openapi(f"{served}/shop.yaml").base_url == "https://eu.shop.example.com/v2"  # absolute: kept


def test_url_errors_are_clear(served: str) -> None:
    with pytest.raises(OpenAPIError, match=r"missing\.json: the server answered HTTP 404"):
        import_openapi(f"{served}/missing.json")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OpenAPIError, match="could not fetch the document .* check the URL"):
        import_openapi(f"http://127.0.0.1:{port}/openapi.json", timeout=5)


def test_truncated_json_and_yaml_name_the_line() -> None:
    message = error_of(FIXTURES / "truncated.json")
    assert message.startswith(f"{FIXTURES / 'truncated.json'}: line 16, column 30: invalid JSON")
    assert message.endswith("the document ends before it is complete, as if cut short: fetch or save it again")
    message = error_of(FIXTURES / "truncated.yaml")
    assert message.startswith(f"{FIXTURES / 'truncated.yaml'}: line 9, column 1: invalid YAML")
    assert "as if cut short" in message


def test_json_syntax_error_in_the_middle_is_not_called_truncated(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"openapi": "3.0.0",\n "info": {"title": "T" "version": "1"}, "paths": {}}')
    assert error_of(spec) == (f"{spec}: line 2, column 24: invalid JSON (Expecting ',' delimiter); "
                              "fix the syntax there")


def test_bad_files(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.yaml") == f"{tmp_path / 'nope.yaml'}: file not found; check the path"
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    assert "the document is empty" in error_of(empty)
    listing = tmp_path / "list.yaml"
    listing.write_text("- openapi: 3.0.0\n")
    assert "the document must be a mapping (an OpenAPI object), got a list" in error_of(listing)
    binary = tmp_path / "spec.json"
    binary.write_bytes(b"\xff\xfe\x00{")
    assert "not UTF-8 text" in error_of(binary)
    assert "cannot import an OpenAPI document from a int" in error_of(42)  # type: ignore[arg-type]
