"""data/tools/ is the hub's catalog as the OpenAPI importer makes it: regenerating it changes nothing.

If this fails after a change to the hub or the importer, regenerate and commit:
    toolbench hub export-catalog --out data/tools
"""

import json
from pathlib import Path

from toolbench.catalog.store import load_catalog
from toolbench.hub.catalog import export_catalog

COMMITTED = Path(__file__).resolve().parents[2] / "data" / "tools"
HINT = "data/tools is out of date: run `toolbench hub export-catalog --out data/tools` and commit it"


def test_regenerating_gives_identical_files(tmp_path):
    written = export_catalog(tmp_path)
    fresh = {p.relative_to(tmp_path).as_posix(): p.read_text(encoding="utf-8") for p in written}
    committed = {p.relative_to(COMMITTED).as_posix(): p.read_text(encoding="utf-8")
                 for p in COMMITTED.rglob("*.json")}
    assert sorted(fresh) == sorted(committed), HINT
    for name, text in fresh.items():
        assert json.loads(text) == json.loads(committed[name]), f"{name}: {HINT}"
        assert text == committed[name], f"{name}: {HINT}"


def test_committed_catalog_loads_cleanly():
    catalog = load_catalog(COMMITTED)
    assert not catalog.errors, catalog.errors
    assert len(catalog.tools) >= 8 and len(catalog.apis()) >= 40 and len(catalog.categories()) >= 5
