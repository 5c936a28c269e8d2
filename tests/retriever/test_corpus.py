"""Corpus documents in ToolBench's shape, stable ids, and the JSONL round trip."""

import json
from pathlib import Path

import pytest
from retriever_fakes import make_api

from retriever.corpus import Corpus, doc_id, document_text, load_corpus, split_doc_id
from retriever.errors import RetrieverError
from retriever.pairs import read_queries

REF = Path(__file__).parents[2] / "data" / "reference"
STB = REF / "stabletoolbench" / "G1_instruction.json"


def test_document_text_has_toolbench_shape():
    api = make_api("Weatherly", "forecast", "seven day forecast")
    text = document_text(api)
    assert text.startswith("Data, Weatherly, forecast, seven day forecast, required_params: [")
    req = text.split("required_params: ")[1].split(", optional_params: ")[0]
    assert json.loads(req) == [{"name": "q", "type": "STRING", "description": "what to look for", "default": ""}]
    assert text.endswith(', optional_params: [], return_schema: {"result": "str"}')


def test_doc_ids_are_tool_tab_api_and_independent_of_order(toy_corpus):
    assert doc_id("A b", "c") == "A b\tc"
    assert split_doc_id("A b\tc") == ("A b", "c")
    reversed_corpus = Corpus.from_apis(reversed([d.api for d in toy_corpus]))
    assert set(reversed_corpus.ids) == set(toy_corpus.ids)
    assert reversed_corpus["Weatherly\tforecast"].text == toy_corpus["Weatherly\tforecast"].text


def test_tab_in_a_name_is_refused():
    with pytest.raises(RetrieverError, match="tab"):
        doc_id("bad\ttool", "x")


def test_duplicates_keep_the_first_occurrence():
    first = make_api("T", "a", "first description")
    second = make_api("T", "a", "second description")
    corpus = Corpus.from_apis([first, second])
    assert len(corpus) == 1 and "first description" in corpus["T\ta"].text


def test_save_load_round_trip(tmp_path, toy_corpus):
    path = toy_corpus.save(tmp_path / "corpus.jsonl")
    back = Corpus.load(path)
    assert back.ids == toy_corpus.ids and back.texts == toy_corpus.texts
    assert back["Moneybox\tconvert currency"].api.to_query_dict() == \
        toy_corpus["Moneybox\tconvert currency"].api.to_query_dict()


def test_load_names_file_and_line(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"id": "x", "text": "t", "api": {"tool_name": "T"}}\n')
    with pytest.raises(RetrieverError, match=r"c.jsonl:1\.api\.api_name"):
        Corpus.load(p)


def test_stabletoolbench_union_of_apis():
    queries = read_queries([STB])
    corpus = load_corpus(None, queries)
    assert len(queries) == 163
    assert len(corpus) == 810  # distinct (tool, api) over the 163 api_lists
    # every relevant API of these queries is documented in some api_list
    assert all(doc_id(t, a) in corpus for q in queries for t, a in q.relevant)


def test_from_a_toolbench_tools_folder():
    tools = Path(__file__).parents[1] / "fixtures" / "toolbench_tools"
    corpus = load_corpus(tools)
    assert "TheClique\tSongkick concert" in corpus
    assert corpus["TheClique\tSongkick concert"].text.startswith("Data, TheClique, Songkick concert, Concert info")


def test_empty_tools_folder_is_refused(tmp_path):
    with pytest.raises(RetrieverError, match="no APIs"):
        Corpus.from_tool_dir(tmp_path)
