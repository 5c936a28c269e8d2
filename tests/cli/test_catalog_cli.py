"""The `toolbench catalog` commands, run through the real entry point: exit codes and messages, no tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.capture import run_cli as run

REF = Path(__file__).parents[2] / "data" / "reference"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "toolbench_tools"


def test_import_list_show_validate(tmp_path, capsys):
    cat = tmp_path / "cat"
    code, out, _ = run(["catalog", "import-toolbench", str(REF / "toolbench/instruction"), "--out", str(cat)], capsys)
    assert code == 0 and "wrote" in out
    code, out, _ = run(["catalog", "list", str(cat)], capsys)
    assert code == 0 and "SQUAKE" in out and "tools," in out
    code, out, _ = run(["catalog", "show", str(cat), "SQUAKE", "--functions"], capsys)
    tools = json.loads(out)
    assert code == 0 and {t["function"]["name"] for t in tools} >= {"checkhealth_for_squake", "projects_for_squake"}
    code, out, _ = run(["catalog", "show", str(cat), "squake"], capsys)
    assert code == 0 and "Checkhealth" in out
    code, out, err = run(["catalog", "validate", str(cat)], capsys)
    assert code == 0 and "0 error(s)" in out


def test_validate_reports_every_problem_and_fails(tmp_path, capsys):
    good = json.loads((FIXTURES / "Data/theclique.json").read_text())
    (tmp_path / "Data").mkdir()
    (tmp_path / "Data/good.json").write_text(json.dumps(good))
    (tmp_path / "Data/cut.json").write_text(json.dumps(good)[:100])
    bad = dict(good, tool_name="Bad")
    bad["api_list"] = [dict(good["api_list"][0], method=3)]
    (tmp_path / "Data/bad.json").write_text(json.dumps(bad))
    code, out, err = run(["catalog", "validate", str(tmp_path)], capsys)
    assert code == 1
    assert "cut.json: line 1 column" in err
    assert "bad.json: api_list[0].method" in err
    assert "Traceback" not in err + out
    assert "2 tool(s) loaded; 2 error(s)" in out  # method 3 is read as "3", then rejected


def test_bad_input_gives_a_message_not_a_traceback(tmp_path, capsys):
    code, out, err = run(["catalog", "list", str(tmp_path / "missing")], capsys)
    assert code == 2 and "no such catalog folder" in err and "Traceback" not in err
    code, _, err = run(["catalog", "show", str(FIXTURES), "NoSuchTool"], capsys)
    assert code == 2 and "no tool named" in err


def test_help_lists_stages_and_examples():
    result = subprocess.run([sys.executable, "-m", "toolbench", "catalog", "--help"], capture_output=True,
                            text=True, check=True)
    assert "import-openapi" in result.stdout and "Examples" in result.stdout


@pytest.mark.parametrize("command", ["import-toolbench", "import-openapi", "list", "show", "validate"])
def test_every_catalog_command_has_an_example(command, capsys):
    code, out, _ = run(["catalog", command, "--help"], capsys)
    assert code == 0 and "Example" in out


def test_import_openapi(tmp_path, capsys):
    spec = Path(__file__).parents[1] / "fixtures" / "openapi"
    code, out, _ = run(["catalog", "import-openapi", str(spec / "shop.yaml"), "--out", str(tmp_path)], capsys)
    assert code == 0 and "Imported 'Tiny Shop'" in out
    assert (tmp_path / "Commerce" / "tiny_shop.json").is_file()
    code, out, _ = run(["catalog", "validate", str(tmp_path)], capsys)
    assert code == 0
    code, _, err = run(["catalog", "import-openapi", str(spec / "swagger2.json"), "--out", str(tmp_path)], capsys)
    assert code == 2 and "Swagger 2.0" in err and "Traceback" not in err
