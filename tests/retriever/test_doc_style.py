"""Document styles: the compact rendering, the style a trained model records, and indexing, training and the
cross-validation's candidate recipes reading documents in that style."""

import json

import numpy as np
import pytest
from retriever_fakes import HashingEncoder, build_tiny_model, make_api, toy_corpus

from retriever.corpus import COMPACT_FIELDS, Corpus, compact_text, document_text
from retriever.crossval import CrossValConfig, _same_training
from retriever.encoder import STYLE_FILE, doc_style_of, load_encoder, save_doc_style
from retriever.errors import ConfigError, RetrieverError
from retriever.index import ApiRetriever
from retriever.train import TrainConfig
from retriever.train import run as train
from toolbench.records import Api, Param, Query


def _concert() -> Api:
    return Api(tool="TheClique", name="Songkick concert", description="Concert info", category="Data",
               required_params=[Param(name="id_conc", type="STRING", description="", required=True)],
               optional_params=[Param(name="venueName", type="STRING", description="where it is played")],
               response_schema={"date": "str", "line_up": [{"name": "str", "_list_length": 2}],
                                "_id": {"$oid": "str"}, "venue_url": "str"})


def test_compact_text_names_parameters_and_response_fields_as_words():
    text = compact_text(_concert())
    assert text == ("Data, TheClique, Songkick concert: Concert info. parameters: id conc; venue name (where it "
                    "is played). returns: date, line up, venue url, name")
    assert "{" not in text and "_list_length" not in text and "oid" not in text
    # the ToolBench style keeps the JSON and is what BM25 reads
    assert '"id_conc"' in document_text(_concert())


def test_compact_text_reads_a_schema_given_as_json_and_caps_the_fields():
    api = _concert()
    api.response_schema = json.dumps({f"field_{i}": "str" for i in range(COMPACT_FIELDS + 10)})
    fields = compact_text(api).split("returns: ")[1].split(", ")
    assert len(fields) == COMPACT_FIELDS and fields[0] == "field 0"
    api.response_schema = "not json"
    assert "returns" not in compact_text(api)
    api.required_params = api.optional_params = []
    api.response_schema = None
    assert compact_text(api) == "Data, TheClique, Songkick concert: Concert info"


def test_texts_as_a_style():
    corpus = toy_corpus()
    assert corpus.texts_as("toolbench") == corpus.texts
    assert corpus.texts_as("compact") == [compact_text(d.api) for d in corpus]
    with pytest.raises(RetrieverError, match="unknown document style 'fancy'"):
        corpus.texts_as("fancy")


def test_a_model_folder_records_its_style(tmp_path):
    assert doc_style_of(tmp_path) == "toolbench"  # no file: the ToolBench style
    save_doc_style(tmp_path, "compact")
    assert doc_style_of(str(tmp_path)) == "compact"
    (tmp_path / STYLE_FILE).write_text('{"doc_style": "fancy"}')
    with pytest.raises(RetrieverError, match=f"{STYLE_FILE}: expected"):
        doc_style_of(tmp_path)
    with pytest.raises(RetrieverError, match="unknown document style"):
        save_doc_style(tmp_path, "fancy")


class _Recording(HashingEncoder):
    def __init__(self, style: str):
        super().__init__()
        self.doc_style = style
        self.seen: list[str] = []

    def encode(self, texts, *, batch_size: int = 64) -> np.ndarray:
        self.seen.extend(texts)
        return super().encode(texts, batch_size=batch_size)


@pytest.mark.parametrize("style", ["toolbench", "compact"])
def test_the_index_embeds_documents_in_the_encoder_s_style(style):
    corpus = toy_corpus()
    encoder = _Recording(style)
    retriever = ApiRetriever.build(corpus, encoder)
    assert encoder.seen == corpus.texts_as(style)
    assert retriever.meta.extra["doc_style"] == style


def test_training_in_the_compact_style_is_recorded_and_read_back(tmp_path):
    apis = [make_api("Toolbox", c, "returns records") for c in ("kappa", "sigma", "omega", "zeta")]
    queries = [Query(id=str(i), text=f"request {i}", apis=apis, relevant=[("Toolbox", a.name)])
               for i, a in enumerate(apis)]
    path = tmp_path / "G1_toy.json"
    path.write_text(json.dumps([q.to_dict() for q in queries]))
    with pytest.raises(ConfigError, match="doc_style"):
        TrainConfig(query_files=[str(path)], doc_style="fancy")
    tiny = build_tiny_model(tmp_path / "tiny")
    result = train(TrainConfig(query_files=[str(path)], output_dir=str(tmp_path / "run"), model=str(tiny),
                               test_fraction=0.0, batch_size=4, epochs=1, max_seq_length=32, log_every=0,
                               doc_style="compact"))
    assert doc_style_of(result.model_dir) == "compact"
    encoder = load_encoder(result.model_dir, max_seq_length=32)
    assert encoder.doc_style == "compact"
    assert ApiRetriever.build(Corpus.from_apis(apis), encoder).meta.extra["doc_style"] == "compact"
    assert load_encoder(str(tiny), max_seq_length=32).doc_style == "toolbench"


def test_crossval_takes_the_style_as_a_candidate_and_reuses_runs_recorded_before_it(tmp_path):
    path = tmp_path / "G1_toy.json"
    queries = [Query(id=str(i), text=f"request {i}", apis=[make_api(f"T{i}", "a", "d")], relevant=[(f"T{i}", "a")])
               for i in range(6)]
    path.write_text(json.dumps([q.to_dict() for q in queries]))
    cfg = CrossValConfig(query_files=[str(path)], folds=3, output_dir=str(tmp_path / "cv"))
    compact = cfg.candidate("doc_style=compact")
    assert compact.train_config(0).doc_style == "compact" and cfg.train_config(0).doc_style == "toolbench"
    with pytest.raises(ConfigError, match="doc_style"):
        cfg.candidate("doc_style=fancy")
    settings = json.loads(json.dumps(cfg.train_config(0).__dict__))
    recorded = {k: v for k, v in settings.items() if k != "doc_style"}  # a run finished before the field existed
    assert _same_training(recorded, settings)
    assert not _same_training(recorded, json.loads(json.dumps(compact.train_config(0).__dict__)))
