"""The training recipe's data: the held-out API split, synthetic queries, sibling negatives, cached negatives,
reciprocal rank fusion."""

import json

import pytest
from retriever_fakes import TOY_APIS, build_tiny_model, make_api, make_query, toy_corpus

from retriever.corpus import doc_id, split_doc_id
from retriever.fusion import HybridRanker, reciprocal_rank_fusion
from retriever.pairs import Pair, add_sibling_negatives, split_by_api
from retriever.synthetic import synthetic_queries
from retriever.train import TrainConfig
from retriever.train import run as main
from retriever.training_data import prepare
from toolbench.records import Query


def _queries():
    texts = {("Weatherly", "current weather"): "is it raining in Oslo", ("Weatherly", "forecast"): "weather next week",
             ("Moneybox", "convert currency"): "100 USD in EUR", ("Moneybox", "exchange history"): "EUR rate in 2020",
             ("Filmography", "search movies"): "movies called Heat", ("Filmography", "actor details"): "who is Pacino",
             ("Recipes", "find recipe"): "a dish with leeks", ("Recipes", "nutrition facts"): "calories of rice"}
    return [make_query(str(i), text, [api]) for i, (api, text) in enumerate(texts.items())]


def test_api_split_holds_out_whole_tools():
    queries = _queries()
    train, test, held = split_by_api(queries, test_fraction=0.25, seed=3)
    assert len(test) == 2 and len(train) == 6
    test_tools = {t for q in test for t, _ in q.relevant}
    assert not test_tools & {t for q in train for t, _ in q.relevant}, "a held-out tool is seen in training"
    assert {doc_id(t, a) for q in test for t, a in q.relevant} <= held
    assert split_by_api(queries, test_fraction=0.25, seed=3)[2] == held  # seeded
    assert split_by_api(queries, test_fraction=0.0, seed=3)[1] == []


def test_sibling_negatives_come_from_the_positive_s_tool():
    corpus = toy_corpus()
    pos = doc_id("Weatherly", "current weather")
    pairs = [Pair("G1/1", "is it raining", pos)]
    out = add_sibling_negatives(pairs, corpus, {"G1/1": {pos}}, per_pair=2, seed=0)
    assert out[0].negatives == [doc_id("Weatherly", "forecast")]  # the only sibling
    assert add_sibling_negatives(pairs, corpus, {}, exclude={doc_id("Weatherly", "forecast")})[0].negatives == []


def test_synthetic_queries_cover_every_api_but_the_held_out_ones():
    apis = [make_api(t, n, d) for t, n, d in TOY_APIS]
    held = {doc_id("Recipes", "find recipe")}
    out = synthetic_queries(apis, per_api=2, multi=1, seed=0, exclude=held)
    single = [q for q in out if len(q.relevant) == 1]
    assert len(single) == 2 * (len(apis) - 1)
    assert all(q.text.strip() for q in out)
    named = {doc_id(t, a) for q in out for t, a in q.relevant}
    assert named == {doc_id(t, n) for t, n, _ in TOY_APIS} - held
    multi = [q for q in out if len(q.relevant) > 1]
    assert multi and all(len({t for t, _ in q.relevant}) >= 1 for q in multi)
    assert any(len({t for t, _ in q.relevant}) == 1 for q in multi)  # G1-style: one tool


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "a"]])
    assert [d for d, _ in fused] == ["b", "a", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)

    class Fixed:
        def __init__(self, order):
            self.order = order

        def rank(self, texts, k=None):
            return [[(d, 1.0) for d in self.order][:k] for _ in texts]

    ranked = HybridRanker([Fixed(["x", "y", "z", "w"]), Fixed(["w", "y", "z", "x"])]).rank(["q"], 2)
    assert [d for d, _ in ranked[0]] == ["y", "x"]


def _toy_files(tmp_path):
    queries = _queries()
    path = tmp_path / "G1_toy.json"
    path.write_text(json.dumps([q.to_dict() for q in queries]))
    extra = tmp_path / "G1_query.json"  # same group and ids as the evaluated file: keys must not clash
    extra.write_text(json.dumps([Query(id="0", text="weather in Rome", group="G1", apis=queries[0].apis,
                                       relevant=queries[0].relevant).to_dict()]))
    return path, extra


def test_api_split_run_never_trains_on_held_out_apis(tmp_path):
    path, extra = _toy_files(tmp_path)
    tiny = build_tiny_model(tmp_path / "tiny")
    result = main(TrainConfig(query_files=[str(path)], train_files=[str(extra)], output_dir=str(tmp_path / "run"),
                              model=str(tiny), test_fraction=0.25, split_by="api", synthetic_per_api=1,
                              synthetic_multi=1, sibling_negatives=1, hard_negatives=1, epochs=1, batch_size=4,
                              log_every=0, max_seq_length=32))
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    held = set(split["held_out_apis"])
    assert held and split["split_by"] == "api" and len(split["test"]) == 2
    assert split["counts"]["train_file_queries"] == 1 and split["counts"]["synthetic_queries"] > 8
    rows = [json.loads(line) for line in (tmp_path / "run" / "pairs.jsonl").read_text().splitlines()]
    assert any(r["query_key"].startswith("train:") for r in rows)
    named = {r["positive"] for r in rows} | {n for r in rows for n in r["negatives"]}
    assert not named & held, "a held-out API reached training"
    assert result.steps >= 1


def test_cached_negatives_give_the_loss_of_the_whole_batch(tmp_path):
    path, _ = _toy_files(tmp_path)
    tiny = build_tiny_model(tmp_path / "tiny")
    first = []
    for mini in (0, 2):
        result = main(TrainConfig(query_files=[str(path)], output_dir=str(tmp_path / f"run{mini}"), model=str(tiny),
                                  test_fraction=0.0, epochs=1, batch_size=8, max_steps=1, log_every=0,
                                  mini_batch_size=mini, max_seq_length=32))
        first.append(result.losses[0])
    # Same batch, same weights: the cached loss is the full-batch loss (up to dropout draws, ~0.1%); a loss over
    # mini-batches of 2 alone would be about ln 2 instead of ln 8.
    assert first[0] == pytest.approx(first[1], rel=1e-2)


def test_train_file_queries_that_name_a_held_out_tool_are_left_out(tmp_path):
    queries = _queries()
    path = tmp_path / "G1_toy.json"
    path.write_text(json.dumps([q.to_dict() for q in queries]))
    extra = tmp_path / "G1_query.json"  # one generated query per API: some name the tools the split holds out
    extra.write_text(json.dumps([make_query(f"x{i}", f"please: {q.text}", list(q.relevant)).to_dict()
                                 for i, q in enumerate(queries)]))
    data = prepare(TrainConfig(query_files=[str(path)], train_files=[str(extra)], output_dir=str(tmp_path / "run"),
                               test_fraction=0.25, split_by="api", synthetic_per_api=0))
    held_tools = {split_doc_id(d)[0] for d in data.held_out_apis}
    naming_held = sum(1 for q in queries if q.relevant[0][0] in held_tools)
    assert naming_held >= 2  # a whole tool (two APIs) is held out
    assert data.counts["train_file_queries_held_out"] == naming_held
    assert data.counts["train_file_queries"] == len(queries) - naming_held
    assert not {p.positive for p in data.pairs} & data.held_out_apis


def test_sentence_pairs_reach_the_training_data(tmp_path):
    queries = [make_query(str(i), f"Hi, I plan a trip. {text}? Thanks.", list(q.relevant))
               for i, (q, text) in enumerate(zip(_queries(), ["Is it raining in Oslo", "Weather next week",
                                                               "How much is 100 USD in EUR", "EUR rate in 2020",
                                                               "Any movies called Heat", "Who is Pacino",
                                                               "A dish with leeks", "Calories of rice"]))]
    path = tmp_path / "G1_toy.json"
    path.write_text(json.dumps([q.to_dict() for q in queries]))
    plain, with_sentences = (prepare(TrainConfig(query_files=[str(path)], output_dir=str(tmp_path / "run"),
                                                 test_fraction=0.25, split_by="api", sentence_pairs=on))
                             for on in (False, True))
    extra = with_sentences.pairs[len(plain.pairs):]
    assert with_sentences.pairs[:len(plain.pairs)] == plain.pairs and extra
    # each one the query's own asking sentence, for its positive
    assert all(p.query.endswith("?") and p.query in next(q.query for q in plain.pairs if q.query_key == p.query_key)
               for p in extra)
    assert not {p.positive for p in extra} & with_sentences.held_out_apis
