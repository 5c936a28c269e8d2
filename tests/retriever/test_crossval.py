"""K-fold held-out APIs: folds of whole tools cover every query once, a fold's training data never touches its
tools (human, synthetic or negative), and `toolbench retriever crossval` end to end with a tiny model."""

import json
from pathlib import Path

import pytest
from retriever_fakes import build_tiny_model, make_query

from retriever.corpus import split_doc_id
from retriever.crossval import METHODS, CrossValConfig
from retriever.errors import ConfigError, RetrieverError
from retriever.pairs import api_folds, query_key, read_queries, split_by_api, tool_groups
from retriever.train import TrainConfig
from retriever.training_data import prepare
from tests.capture import run_cli as _run

STB = Path(__file__).parents[2] / "data" / "reference" / "stabletoolbench" / "G1_instruction.json"

# Two queries per toy tool, and one needing two tools at once (Weatherly and Recipes), which must keep both
# tools in one fold.
TOY_QUERIES = [
    ("0", "is it raining in Oslo right now", [("Weatherly", "current weather")]),
    ("1", "will it be sunny next week in Rome", [("Weatherly", "forecast")]),
    ("2", "how many yen is 50 euros", [("Moneybox", "convert currency")]),
    ("3", "dollar to pound rates over the last year", [("Moneybox", "exchange history")]),
    ("4", "which year did Alien come out and who played in it", [("Filmography", "search movies")]),
    ("5", "tell me about the life of Meryl Streep", [("Filmography", "actor details")]),
    ("6", "a dish I can cook with leeks", [("Recipes", "find recipe")]),
    ("7", "calories of a banana", [("Recipes", "nutrition facts")]),
    ("8", "a soup recipe for tomorrow's cold weather", [("Weatherly", "forecast"), ("Recipes", "find recipe")]),
]


def toy_queries():
    return [make_query(i, t, rel) for i, t, rel in TOY_QUERIES]


def _tools(queries):
    return {t for q in queries for t, _ in q.relevant}


def _check_folds(queries, folds):
    held_keys = [query_key(q) for _, test, _ in folds for q in test]
    assert sorted(held_keys) == sorted(query_key(q) for q in queries)  # every query held out exactly once
    for train, test, held in folds:
        assert {query_key(q) for q in train} | {query_key(q) for q in test} == {query_key(q) for q in queries}
        assert not _tools(train) & _tools(test)  # no training query needs a tool of the held-out fold
        assert {split_doc_id(d)[0] for d in held} == _tools(test)
        assert not {f"{t}\t{a}" for q in train for t, a in q.relevant} & held


def test_tool_groups_join_tools_needed_together():
    groups = tool_groups(toy_queries())
    assert sorted(sorted(q.id for q in g) for g in groups) == [["0", "1", "6", "7", "8"], ["2", "3"], ["4", "5"]]


def test_api_folds_hold_out_whole_tools_and_cover_every_query_once():
    queries = toy_queries()
    folds = api_folds(queries, folds=2, seed=0)
    _check_folds(queries, folds)
    assert api_folds(list(reversed(queries)), folds=2, seed=0)[0][1] != []  # any order works
    assert [{query_key(q) for q in test} for _, test, _ in api_folds(list(reversed(queries)), folds=2, seed=0)] == \
        [{query_key(q) for q in test} for _, test, _ in folds]  # and gives the same folds
    assert sorted(len(test) for _, test, _ in api_folds(queries, folds=3, seed=1)) == [2, 2, 5]
    with pytest.raises(RetrieverError, match="need 4 tools, which cannot fill 5 folds"):
        api_folds(queries, folds=5, seed=0)
    with pytest.raises(RetrieverError, match="at least 2"):
        api_folds(queries, folds=1, seed=0)


def test_api_folds_deal_tools_when_queries_chain_them_all_and_never_hold_out_a_query_without_apis():
    # 3 groups cannot fill 4 folds, and queries chaining every tool make one group: the tools are dealt out
    chained = [*toy_queries(), make_query("9", "convert the price of a movie ticket", [("Moneybox", "convert currency"),
                                                                                     ("Filmography", "search movies")]),
               make_query("10", "exchange rates and recipes", [("Moneybox", "exchange history"), ("Recipes", "find recipe")])]
    no_api = make_query("11", "tell me a joke", [])
    for queries, k in ((toy_queries(), 4), ([*chained, no_api], 3)):
        folds = api_folds(queries, folds=k, seed=0)
        assert len(folds) == k and all(test for _, test, _ in folds)
        held_out = [query_key(q) for _, test, _ in folds for q in test]
        assert len(held_out) == len(set(held_out))  # held out once at most
        for train, test, held in folds:
            assert not _tools(train) & _tools(test) and {split_doc_id(d)[0] for d in held} >= _tools(test)
            assert not {f"{t}\t{a}" for q in train for t, a in q.relevant} & held
        spanning = [q for q in queries if q.relevant and query_key(q) not in held_out]
        assert all(len(_tools([q])) > 1 for q in spanning)  # only a query whose tools span folds is never held out
    assert all(no_api in train and no_api not in test for train, test, _ in api_folds([*chained, no_api], folds=3, seed=0))


def test_api_folds_on_the_reference_queries():
    queries = read_queries([STB])
    folds = api_folds(queries, folds=5, seed=42)
    _check_folds(queries, folds)
    assert sorted(len(test) for _, test, _ in folds) == [32, 32, 33, 33, 33]  # balanced
    # the existing one-off split holds out tools the same way (its figures stay what they were)
    train, test, _ = split_by_api(queries, test_fraction=0.2, seed=42)
    assert len(test) == 33 and not _tools(train) & _tools(test)


def _write(tmp_path, queries):
    path = tmp_path / "G1_toy.json"
    path.write_text(json.dumps([q.to_dict() for q in queries]))
    return path


def _cv_argv(path, tiny, *options):
    """`toolbench retriever crossval` on the toy queries with a tiny model, one step a fold, and ``options``."""
    return ["retriever", "crossval", str(path), "--model", str(tiny), "--max-steps", "1", "--batch-size", "4",
            "--max-seq-length", "64", *options]


def test_a_fold_s_training_data_never_names_its_tools(tmp_path):
    queries = toy_queries()
    path = _write(tmp_path, queries)
    folds = api_folds(queries, folds=2, seed=7)
    for fold, (_, test, _) in enumerate(folds):
        cfg = TrainConfig(query_files=[str(path)], folds=2, fold=fold, seed=7, synthetic_per_api=2, synthetic_multi=1,
                          sibling_negatives=1, hard_negatives=1, hard_negative_depth=3)
        data = prepare(cfg)
        held_tools = _tools(test)
        assert {query_key(q) for q in data.test} == {query_key(q) for q in test}
        assert data.counts["synthetic_queries"] > 0
        named = {split_doc_id(d)[0] for p in data.pairs for d in (p.positive, *p.negatives)}
        assert named and not named & held_tools  # positives (human and synthetic) and negatives alike
        assert {split_doc_id(d)[0] for d in data.held_out_apis} == held_tools
        # without the exclusion the synthetic requests would name them: the check above can fail
        unfolded = prepare(TrainConfig(query_files=[str(path)], test_fraction=0.0, seed=7, synthetic_per_api=2))
        assert {split_doc_id(p.positive)[0] for p in unfolded.pairs} & held_tools


def test_fold_options_are_checked(tmp_path):
    path = _write(tmp_path, toy_queries())
    with pytest.raises(ConfigError, match="folds"):
        TrainConfig(query_files=[str(path)], folds=1)
    with pytest.raises(ConfigError, match="fold"):
        TrainConfig(query_files=[str(path)], folds=3, fold=3)
    with pytest.raises(ConfigError, match="split_by 'api'"):
        TrainConfig(query_files=[str(path)], folds=3, split_by="query")
    with pytest.raises(ConfigError, match="folds"):
        CrossValConfig(query_files=[str(path)], folds=1)
    with pytest.raises(ConfigError, match="recipe"):
        CrossValConfig(query_files=[str(path)], recipe="gpu")
    with pytest.raises(ConfigError, match="a fold's training.*learning_rate"):
        CrossValConfig(query_files=[str(path)], learning_rate=-1.0)


def test_crossval_command_with_a_tiny_model(tmp_path, capsys):
    queries = toy_queries()
    path = _write(tmp_path, queries)
    tiny = build_tiny_model(tmp_path / "tiny")
    out = tmp_path / "cv"
    argv = _cv_argv(path, tiny, "--folds", "2", "--seed", "3", "--synthetic-per-api", "1", "--replicates", "200",
                    "--out", str(out))
    code, printed, err = _run(argv, capsys)
    assert code == 0, err + printed
    assert "| method | NDCG@1 [95% CI] | NDCG@5 | NDCG@1 vs BM25 [95% CI] |" in printed
    assert "| bm25 |" in printed and "| trained+bm25 |" in printed and "9 queries" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["queries"] == len(queries) and list(results["methods"]) == list(METHODS)
    per_query = results["per_query"]
    assert set(per_query) == {query_key(q) for q in queries}
    folds = api_folds(queries, folds=2, seed=3)
    for fold, (_, test, _) in enumerate(folds):
        assert {k for k, v in per_query.items() if v["fold"] == fold} == {query_key(q) for q in test}
        split = json.loads((out / f"fold{fold}" / "split.json").read_text())
        assert set(split["test"]) == {query_key(q) for q in test} and split["folds"] == 2
    # pooled figures are the means of the per-query scores; BM25 against itself is not compared
    for name, m in results["methods"].items():
        mean = sum(v[name]["ndcg@1"] for v in per_query.values()) / len(per_query)
        assert m["ndcg@1"] == pytest.approx(mean)
        assert m["ndcg@1_interval"][0] <= m["ndcg@1"] <= m["ndcg@1_interval"][1]
    assert "vs_bm25" not in results["methods"]["bm25"]
    vs = results["methods"]["trained"]["vs_bm25"]
    assert vs["n"] == 9 and vs["wins"] + vs["losses"] + vs["ties"] == 9 and 0 < vs["p"] <= 1
    assert [f["reused"] for f in results["folds"]] == [False, False]
    assert (out / "results.md").read_text().startswith("| method |")


def test_crossval_rerun_reuses_finished_folds_only_with_the_same_settings(tmp_path, capsys):
    path = _write(tmp_path, toy_queries())
    tiny = build_tiny_model(tmp_path / "tiny")
    out = tmp_path / "cv"
    argv = _cv_argv(path, tiny, "--folds", "2", "--synthetic-per-api", "0", "--replicates", "50", "--out", str(out))
    for extra, reused in (([], False), ([], True), (["--learning-rate", "5e-4"], False)):
        code, _, err = _run([*argv, *extra], capsys)
        assert code == 0, err
        assert [f["reused"] for f in json.loads((out / "results.json").read_text())["folds"]] == [reused, reused]


def test_nested_dev_split_leaves_the_held_out_fold_out(tmp_path):
    queries = read_queries([STB])
    path = STB
    outer = api_folds(queries, folds=5, seed=42)
    train, test, _ = outer[1]
    data = prepare(TrainConfig(query_files=[str(path)], folds=5, fold=1, inner_fold=0, synthetic_per_api=1))
    dev = {query_key(q) for q in data.test}
    assert dev == {query_key(q) for q in api_folds(train, folds=4, seed=42)[0][1]}
    assert not dev & {query_key(q) for q in test}
    trained_on = {query_key(q) for q in data.train}
    assert not trained_on & ({query_key(q) for q in test} | dev)  # neither the held-out fold nor the dev split
    named = {split_doc_id(d)[0] for p in data.pairs for d in (p.positive, *p.negatives)}
    assert not named & (_tools(test) | _tools(data.test))
    with pytest.raises(ConfigError, match="inner_fold"):
        TrainConfig(query_files=[str(path)], folds=5, fold=1, inner_fold=4)


def test_choose_weight_picks_the_best_first_hit_then_plain_rrf():
    from retriever.crossval import choose_weight, fuse

    # two queries; BM25 gets q1's first hit, the dense model q2's; weight 3 on BM25 keeps q1 and loses q2 only if
    # the dense ranking's lead is small
    bm25 = {"q1": ["a", "b", "c"], "q2": ["b", "a", "c"]}
    dense = {"q1": ["b", "a", "c"], "q2": ["a", "c", "b"]}
    qrels = {"q1": {"a"}, "q2": {"a"}}
    assert fuse(bm25["q1"], dense["q1"], 1.0, 3)[0] == "a"  # tie at weight 1: first seen (BM25's) wins
    assert fuse(bm25["q1"], dense["q1"], 0.5, 3)[0] == "b"
    best, grid = choose_weight(bm25, dense, qrels, [0.5, 1.0, 3.0], 3)
    assert grid == {0.5: 0.5, 1.0: 1.0, 3.0: 0.5} and best == 1.0
    best, grid = choose_weight(bm25, {"q1": dense["q1"]}, qrels, [0.5, 2.0, 3.0], 3)
    assert best == 2.0 and grid[0.5] == 0.0  # only q1 counts; 2 and 3 tie, 2 is closer to plain RRF


def test_crossval_tune_fusion_with_a_tiny_model(tmp_path, capsys):
    queries = toy_queries()
    path = _write(tmp_path, queries)
    tiny = build_tiny_model(tmp_path / "tiny")
    out = tmp_path / "cv"
    argv = _cv_argv(path, tiny, "--folds", "3", "--synthetic-per-api", "0", "--replicates", "50", "--tune-fusion",
                    "--fusion-weights", "1", "--out", str(out))
    code, printed, err = _run(argv, capsys)
    assert code == 0, err + printed
    results = json.loads((out / "results.json").read_text())
    methods = results["methods"]
    # with weight 1 only, the tuned hybrids are plain RRF: fusing the stored lists ranks as HybridRanker does
    for plain in ("untrained+bm25", "trained+bm25"):
        tuned = f"{plain}, tuned weight"
        assert all(v[tuned] == v[plain] for v in results["per_query"].values())
        assert methods[tuned]["ndcg@5"] == pytest.approx(methods[plain]["ndcg@5"])
    for f in results["folds"]:
        assert set(f["bm25_weight"].values()) == {1.0} and f["dev_queries"] > 0
        assert (out / f"fold{f['fold']}" / "dev0" / "model").is_dir()
        dev = set(json.loads((out / f"fold{f['fold']}" / "dev0" / "split.json").read_text())["test"])
        held = {k for k, v in results["per_query"].items() if v["fold"] == f["fold"]}
        assert dev and not dev & held
    assert "BM25 weight (untrained / trained; dev queries)" in printed


def test_candidate_recipes_are_checked_and_named(tmp_path):
    path = _write(tmp_path, toy_queries())
    cfg = CrossValConfig(query_files=[str(path)], folds=3, candidates=["synthetic_multi=1", "hard_negatives=1,epochs=2"],
                         output_dir=str(tmp_path / "cv"))
    multi = cfg.candidate("synthetic_multi=1")
    assert multi.synthetic_multi == 1 and multi.candidates == [] and multi.hard_negatives == cfg.hard_negatives
    assert multi.output_dir == str(tmp_path / "cv" / "candidate-synthetic_multi=1")
    both = cfg.candidate("hard_negatives=1,epochs=2")
    assert (both.hard_negatives, both.epochs) == (1, 2) and both.output_dir.endswith("candidate-hard_negatives=1+epochs=2")
    for bad, message in (("dropout=0", "not field=value with a field of"), ("epochs", "not field=value"),
                         ("epochs=-1", "epochs.*positive"), ("synthetic_multi=[1", "is not a value")):
        with pytest.raises(ConfigError, match=message):
            CrossValConfig(query_files=[str(path)], folds=3, candidates=[bad])
    with pytest.raises(ConfigError, match="candidates.*folds >= 3"):
        CrossValConfig(query_files=[str(path)], folds=2, candidates=["synthetic_multi=1"])


def test_choose_recipe_takes_the_best_dev_first_hit_then_ndcg5_then_the_earlier():
    from retriever.crossval import choose_recipe

    assert choose_recipe({"base": {"ndcg@1": 0.5, "ndcg@5": 0.9}, "b": {"ndcg@1": 0.6, "ndcg@5": 0.1}}) == "b"
    assert choose_recipe({"base": {"ndcg@1": 0.5, "ndcg@5": 0.7}, "b": {"ndcg@1": 0.5, "ndcg@5": 0.8}}) == "b"
    assert choose_recipe({"base": {"ndcg@1": 0.5, "ndcg@5": 0.8}, "b": {"ndcg@1": 0.5, "ndcg@5": 0.8}}) == "base"


def test_dev_score_is_the_plain_rrf_hybrid_on_the_dev_queries():
    from retriever.crossval import dev_score

    bm25 = {"q1": ["a", "b", "c"], "q2": ["b", "a", "c"]}
    dense = {"q1": ["b", "a", "c"]}  # only q1 is a dev query here
    score = dev_score(bm25, dense, {"q1": {"a"}, "q2": {"c"}}, 3)
    assert score["ndcg@1"] == 1.0  # tie at weight 1: BM25's first wins, and it is relevant
    assert dev_score(bm25, dense, {"q1": {"b"}, "q2": {"c"}}, 3)["ndcg@1"] == 0.0


def test_crossval_chooses_a_recipe_per_fold_on_its_dev_split(tmp_path, capsys):
    from retriever.crossval import CHOSEN

    queries = toy_queries()
    path = _write(tmp_path, queries)
    tiny = build_tiny_model(tmp_path / "tiny")
    out = tmp_path / "cv"
    argv = _cv_argv(path, tiny, "--folds", "3", "--seed", "1", "--synthetic-per-api", "0", "--replicates", "50",
                    "--candidate", "synthetic_per_api=1", "--out", str(out))
    code, printed, err = _run(argv, capsys)
    assert code == 0, err + printed
    results = json.loads((out / "results.json").read_text())
    assert list(results["methods"]) == [*METHODS, *CHOSEN]
    assert "recipe chosen (dev sentence-view hybrid NDCG@1 of each)" in printed
    cand = out / "candidate-synthetic_per_api=1"
    per_query = results["per_query"]
    for f in results["folds"]:
        i = f["fold"]
        assert set(f["recipe_dev_scores"]) == {"base", "synthetic_per_api=1"}
        assert f["recipe"] in f["recipe_dev_scores"] and f["dev_queries"] > 0
        # both recipes' dev models held out the same dev split, never the fold's own queries
        dev = json.loads((out / f"fold{i}" / "dev0" / "split.json").read_text())["test"]
        assert json.loads((cand / f"fold{i}" / "dev0" / "split.json").read_text())["test"] == dev
        assert not set(dev) & {k for k, v in per_query.items() if v["fold"] == i}
        # the candidate's full fold model is trained only where the fold chose it
        assert (cand / f"fold{i}" / "model").is_dir() == (f["recipe"] != "base")
        if f["recipe"] == "base":
            for v in per_query.values():
                if v["fold"] == i:
                    assert v[CHOSEN[0]] == v["trained"] and v[CHOSEN[1]] == v["trained+bm25"]
                    assert v[CHOSEN[2]] == v["trained (sentences)+bm25"]


def test_a_moved_run_folder_is_still_reused(tmp_path, capsys):
    path = _write(tmp_path, toy_queries())
    tiny = build_tiny_model(tmp_path / "tiny")
    argv = _cv_argv(path, tiny, "--folds", "2", "--synthetic-per-api", "0", "--replicates", "50")
    code, _, err = _run([*argv, "--out", str(tmp_path / "a")], capsys)
    assert code == 0, err
    (tmp_path / "a").rename(tmp_path / "b")
    code, _, err = _run([*argv, "--out", str(tmp_path / "b")], capsys)
    assert code == 0, err
    assert [f["reused"] for f in json.loads((tmp_path / "b" / "results.json").read_text())["folds"]] == [True, True]


def test_a_fold_that_chooses_the_candidate_scores_the_candidate_s_fold_model(tmp_path, monkeypatch):
    from retriever import crossval

    path = _write(tmp_path, toy_queries())
    tiny = build_tiny_model(tmp_path / "tiny")
    monkeypatch.setattr(crossval, "choose_recipe", lambda scores: list(scores)[-1])  # always the candidate
    cfg = CrossValConfig(query_files=[str(path)], model=str(tiny), folds=3, seed=1, max_steps=1, batch_size=4,
                         synthetic_per_api=0, max_seq_length=64, replicates=50, candidates=["learning_rate=0.5"],
                         output_dir=str(tmp_path / "cv"))
    report = crossval.run(cfg, echo=lambda _: None)
    cand = tmp_path / "cv" / "candidate-learning_rate=0.5"
    assert [f["recipe"] for f in report.folds] == ["learning_rate=0.5"] * 3
    assert all((cand / f"fold{i}" / "model").is_dir() for i in range(3))
    # lr 0.5 for a step wrecks the tiny model: its rankings are not the base model's
    differs = [k for k, v in report.per_query.items() if v[crossval.CHOSEN[0]] != v["trained"]]
    assert differs
