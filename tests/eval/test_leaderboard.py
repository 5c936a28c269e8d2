"""eval.leaderboard and `toolbench leaderboard`: tables, CSV, Markdown, and the HTML page rendered in headless
Chromium (its tables read back from the rendered DOM, its plots decoded by the browser)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from eval import leaderboard as L
from eval import recompute
from toolbench.cli import main

STB = Path(__file__).parents[1] / "fixtures" / "stabletoolbench" / "data_example"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
GROUPS = ["G1_instruction", "G1_category", "G1_tool", "G2_instruction", "G2_category", "G3_instruction"]


def write(path: Path, summary: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary))
    return path


METRICS = ["SoPR", "Pass rate", "SoWR vs virtual_chatgpt_cot", "AST accuracy", "Tier accuracy"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """StableToolBench's recomputed figures, a model of ours on all six groups, AST and tier summaries."""
    tmp_path = tmp_path_factory.mktemp("runs")
    recompute.recompute([STB / "pass_rate_results", STB / "preference_results"], tmp_path / "stb")
    groups = {g: {"n": 100, "k": 3, "sopr": {"mean": 0.4 + i / 20, "std": 0.01 * i, "n": 100, "k": 3,
                                             "runs": [0.4 + i / 20] * 3},
                  "pass_rate": {"value": 0.5, "count": 50, "n": 100}} for i, g in enumerate(GROUPS)}
    write(tmp_path / "ours" / "judge" / "pass_rate.summary.json", {"kind": "pass_rate", "model": "ours", "groups": groups})
    write(tmp_path / "ours" / "ast" / "simple.summary.json", {  # `toolbench eval ast` has no model name
        "categories": {"simple_python": {"accuracy": 0.9, "correct": 9, "n": 10},
                       "multiple": {"accuracy": 0.5, "correct": 1, "n": 2}},
        "overall": {"accuracy": 10 / 12, "correct": 10, "n": 12}, "unmatched_predictions": 0})
    write(tmp_path / "ours" / "report" / "tiers.summary.json", {"kind": "tiers", "model": "ours", "groups": {
        "enterprise": {"accuracy": 0.25, "correct": 1, "n": 4}, "simple": {"accuracy": 1.0, "correct": 4, "n": 4}}})
    return [tmp_path / "stb", tmp_path / "ours"]


@pytest.fixture(scope="module")
def board(runs, tmp_path_factory) -> dict[str, Path]:
    """The leaderboard written by the command, once for the module."""
    out = tmp_path_factory.mktemp("board")
    try:
        main(["leaderboard", *map(str, runs), "--out", str(out), "--title", "Ours vs ChatGPT"])
    except SystemExit as exc:
        assert not exc.code
    return {"markdown": out / "leaderboard.md", "csv": out / "leaderboard.csv", "html": out / "index.html"}


def test_tables(runs):
    scores = L.load_runs(runs)
    tables = {t.metric: t for t in L.tables(scores)}
    assert list(tables) == METRICS
    sopr = tables["SoPR"]
    assert sopr.groups == GROUPS + ["Average"]
    assert [run for run, _ in sopr.rows] == ["ours", "virtual_chatgpt_dfs", "virtual_chatgpt_cot"]
    ours = dict(sopr.rows)["ours"]
    assert ours["Average"].mean == pytest.approx(0.525) and ours["Average"].n == 600
    assert "Average" not in dict(sopr.rows)["virtual_chatgpt_cot"]  # not every group: no average
    assert L.cell_text(dict(sopr.rows)["virtual_chatgpt_cot"]["G1_instruction"]) == "66.7 ± 0.0"
    assert tables["AST accuracy"].groups == ["multiple", "simple_python", "overall"]
    assert [run for run, _ in tables["AST accuracy"].rows] == ["ours"]  # named after the run folder
    assert tables["Tier accuracy"].groups == ["simple", "enterprise", "Average"]


def test_files(board):
    markdown = board["markdown"].read_text()
    assert markdown.startswith("# Ours vs ChatGPT\n\n## SoPR")
    assert "| run | I1-Inst | I1-Cat | I1-Tool | I2-Inst | I2-Cat | I3-Inst | Average |" in markdown
    assert "| virtual_chatgpt_cot | 66.7 ± 0.0 (n=3) | — | — | — | — | — | — |" in markdown
    rows = list(csv.DictReader(board["csv"].open()))
    cot = [r for r in rows if r["run"] == "virtual_chatgpt_cot" and r["metric"] == "SoPR"]
    assert [(r["group"], r["group_label"], float(r["mean"]), float(r["std"]), r["n"], r["k"]) for r in cot] == [
        ("G1_instruction", "I1-Inst", 2 / 3, 0.0, "3", "3")]
    for metric in ("sopr", "pass-rate", "ast-accuracy", "tier-accuracy", "sowr-vs-virtual-chatgpt-cot"):
        assert (board["html"].parent / "plots" / f"{metric}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors(runs, board, tmp_path):
    with pytest.raises(L.LeaderboardError, match="no \\*.summary.json"):
        L.load_runs([board["html"].parent])
    with pytest.raises(L.LeaderboardError, match="in both"):
        L.load_runs([runs[0], runs[0]])
    bad = write(tmp_path / "bad" / "x.summary.json", {"kind": "mystery"})
    with pytest.raises(L.LeaderboardError, match="not a summary the leaderboard knows"):
        L.load_runs([bad])


# -- the page in a browser ------------------------------------------------------------------------------------------

# Appended to a copy of the page: after load, record on each image whether the browser decoded it.
PROBE = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) {
    img.dataset.decoded = String(img.complete && img.naturalWidth > 0);
    img.dataset.naturalWidth = String(img.naturalWidth);
  }
  document.body.dataset.probed = "yes";
});
</script>"""


class DomReader(HTMLParser):
    """Tables (metric -> rows of cell texts) and images (attributes) of the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str]] = []
        self.probed = False
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "body" and attributes.get("data-probed") == "yes":
            self.probed = True
        if tag == "table" and "leaderboard" in (attributes.get("class") or ""):
            self._table = attributes["data-metric"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")
        elif tag == "img":
            self.images.append(attributes)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=True)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install -y chromium)")
def test_page_renders_in_chromium(board, tmp_path):
    probe = board["html"].with_name("probe.html")  # beside index.html, so the plots' relative paths resolve
    probe.write_text(board["html"].read_text().replace("</body>", PROBE + "\n</body>"))
    dom = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()).stdout
    reader = DomReader()
    reader.feed(dom)
    assert reader.probed, "the page's load event never fired"
    assert list(reader.tables) == METRICS
    assert reader.tables["SoPR"][0] == ["run", "I1-Inst", "I1-Cat", "I1-Tool", "I2-Inst", "I2-Cat", "I3-Inst",
                                        "Average"]
    assert reader.tables["SoPR"][1][:2] == ["ours", "40.0 ± 0.0 n=100"]
    assert reader.tables["SoPR"][1][-1] == "52.5 n=600"
    assert reader.tables["SoPR"][2][:2] == ["virtual_chatgpt_dfs", "100.0 ± 0.0 n=3"]
    assert reader.tables["SoPR"][3][:2] == ["virtual_chatgpt_cot", "66.7 ± 0.0 n=3"]
    assert reader.tables["SoWR vs virtual_chatgpt_cot"][1] == ["virtual_chatgpt_dfs", "100.0 n=3"]
    assert reader.tables["AST accuracy"][1] == ["ours", "50.0 n=2", "90.0 n=10", "83.3 n=12"]
    assert len(reader.images) == 5
    for image in reader.images:
        assert image["data-decoded"] == "true", image["src"]
        assert int(image["data-natural-width"]) >= 600
    shot = tmp_path / "page.png"
    chromium(tmp_path, "--window-size=1200,1600", f"--screenshot={shot}", board["html"].as_uri())
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (1600, 1200) and pixels.std() > 0.05  # not a blank page


def test_intro_sections_come_first_and_are_escaped(runs, tmp_path):
    intro = [L.Section("Headline", "a <b>bold</b> claim", (("model", "before", "after"), ("m", "1%", "2%"))),
             L.Section("Notes", "text only")]
    written = L.write_leaderboard(L.load_runs(runs), tmp_path, title="T", intro=intro)
    page = written["html"].read_text()
    assert page.index("<h2>Headline</h2>") < page.index("<h2>Notes</h2>") < page.index('class="metric"')
    assert "a &lt;b&gt;bold&lt;/b&gt; claim" in page and "<b>bold" not in page
    assert "<th>model</th><th>before</th><th>after</th>" in page and "<td>m</td><td>1%</td><td>2%</td>" in page
    reader = DomReader()
    reader.feed(page)
    assert list(reader.tables) == METRICS  # the intro's tables are not metrics
    assert "Headline" not in written["markdown"].read_text()
