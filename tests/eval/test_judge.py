"""eval.judge: every branch of the pass-rate rules, win-rate rounds, reply parsing, cached reruns. The judge is a
scripted chat model; its replies are calls of the function each question offers."""

from __future__ import annotations

import pytest
from judge_fakes import TOOLS, asked, decision, judge_model, prediction

from eval import judge as J
from eval import judge_outputs, metrics
from eval.answers import Step
from toolbench.formats.finish import GIVE_UP
from toolbench.llm.base import ChatReply
from toolbench.llm.cache import CachedChatModel, CacheMissError
from toolbench.llm.scripted import ScriptedChatModel

SOLVED, UNSOLVED, UNSURE = "Solved", "Unsolved", "Unsure"


def run_one(answers, pred=None, **kwargs):
    model = judge_model(answers)
    judgment = J.judge_pass(prediction() if pred is None else pred, J.Judge(model), 0, group="G1", **kwargs)
    return judgment, asked(model)


# -- the pass-rate rules, one branch each ----------------------------------------------------------------------------


def test_no_finish_fails_without_asking():
    judgment, questions = run_one({}, prediction(finish=None))
    assert (judgment.answer_status, judgment.pass_label, judgment.rule) == (UNSOLVED, "failed", "no_finish")
    assert judgment.task_status is None and questions == []


def test_missing_answer_fails_without_asking():
    model = judge_model({})
    judgment = J.judge_pass(None, J.Judge(model), 0, query_id="7", group="G1")
    assert (judgment.query_id, judgment.answer_status, judgment.pass_label, judgment.rule) == (
        "7", UNSOLVED, "failed", "missing")
    assert model.requests == []


@pytest.mark.parametrize(("task", "label"), [("Solvable", "failed"), ("Unsolvable", "passed"), ("Unsure", "unsure")])
def test_give_up_is_unsolved_then_solvability_decides(task, label):
    judgment, questions = run_one({"task_solvable": task}, prediction(finish=GIVE_UP))
    assert (judgment.answer_status, judgment.rule, judgment.task_status, judgment.pass_label) == (
        UNSOLVED, "give_up", task, label)
    assert questions == ["task_solvable"]  # the answer itself is not shown to the judge


def test_empty_final_answer_counts_as_giving_up():
    judgment, questions = run_one({"task_solvable": "Solvable"}, prediction(final="  "))
    assert (judgment.rule, judgment.pass_label, questions) == ("give_up", "failed", ["task_solvable"])


def test_solved_passes_with_one_question():
    judgment, questions = run_one({"answer_status": SOLVED})
    assert (judgment.answer_status, judgment.task_status, judgment.pass_label, judgment.rule) == (
        SOLVED, None, "passed", "judge")
    assert questions == ["answer_status"] and judgment.judge_requests == 1


@pytest.mark.parametrize(("task", "label"), [("Solvable", "failed"), ("Unsure", "unsure"), ("Unsolvable", "passed")])
def test_unsolved_then_solvability(task, label):
    judgment, questions = run_one({"answer_status": UNSOLVED, "task_solvable": task})
    assert (judgment.answer_status, judgment.task_status, judgment.pass_label) == (UNSOLVED, task, label)
    assert questions == ["answer_status", "task_solvable"]


def test_unsure_answer_gets_the_detailed_check_which_can_solve_it():
    judgment, questions = run_one({"answer_status": UNSURE, "detailed_answer_status": SOLVED})
    assert (judgment.answer_status, judgment.rule, judgment.pass_label) == (SOLVED, "judge_detailed", "passed")
    assert questions == ["answer_status", "detailed_answer_status"]


@pytest.mark.parametrize(("detailed", "task", "label"), [
    (UNSURE, "Solvable", "unsure"), (UNSURE, "Unsure", "unsure"), (UNSURE, "Unsolvable", "passed"),
    (UNSOLVED, "Solvable", "failed"), (UNSOLVED, "Unsolvable", "passed"),
])
def test_detailed_check_then_solvability(detailed, task, label):
    judgment, questions = run_one({"answer_status": UNSURE, "detailed_answer_status": detailed,
                                   "task_solvable": task})
    assert (judgment.answer_status, judgment.task_status, judgment.pass_label) == (detailed, task, label)
    assert questions == ["answer_status", "detailed_answer_status", "task_solvable"]


@pytest.mark.parametrize(("status", "label"), [(UNSOLVED, "failed"), (UNSURE, "unsure")])
def test_without_solvability_check(status, label):
    judgment, questions = run_one({"answer_status": status, "detailed_answer_status": status},
                                  check_solvable=False)
    assert (judgment.pass_label, judgment.task_status) == (label, None)
    assert "task_solvable" not in questions


def test_unsure_label_resolved_by_a_seeded_coin():
    judgment, _ = run_one({"answer_status": UNSOLVED, "task_solvable": "Unsure"})
    assert judgment.pass_label == "unsure"
    assert judgment.resolved_label == J.coin(0, "G1", "1", 0)
    # the coin is a function of (seed, group, query, sample) only, and both faces occur
    faces = {J.coin(0, "G1", str(q), s) for q in range(20) for s in range(3)}
    assert faces == {"passed", "failed"}
    assert J.coin(0, "G1", "1", 0) == J.coin(0, "G1", "1", 0)


def test_expectation_replaces_the_judge():
    expectation = {"answer_contains": ["18"], "calls": [{"name": "get_weather_for_weather",
                                                          "arguments": {"city": "paris"}}]}
    judgment, questions = run_one({}, expectation=expectation)
    assert (judgment.answer_status, judgment.pass_label, judgment.rule, questions) == (
        SOLVED, "passed", "expectation", [])
    judgment, questions = run_one({}, expectation={"answer_contains": ["rain"]})
    assert (judgment.answer_status, judgment.pass_label, questions) == (UNSOLVED, "failed", [])
    assert "lacks 'rain'" in judgment.reason


def test_hallucinated_calls_are_reported():
    steps = [Step("tool", name="get_forecast_for_weather", arguments="{}", response="{}"),
             Step("tool", name="Finish", arguments='{"return_type": "give_answer", "final_answer": "ok"}')]
    judgment, _ = run_one({"answer_status": SOLVED}, prediction(steps=steps, final="ok"))
    assert judgment.hallucinated_calls == ["get_forecast_for_weather"]


def test_unreadable_replies_are_retried_with_new_seeds_then_unsure():
    model = ScriptedChatModel(["I think it is fine.", "hmm",  # answer_status: twice unreadable -> Unsure
                               decision("detailed_answer_status", UNSURE), decision("task_solvable", "Solvable")])
    judgment = J.judge_pass(prediction(), J.Judge(model, J.JudgeConfig(max_attempts=2)), 1, group="G1")
    seeds = [r["params"]["seed"] for r in model.requests]
    assert seeds == [J.request_seed(0, 1, 0), J.request_seed(0, 1, 1), J.request_seed(0, 1, 0), J.request_seed(0, 1, 0)]
    assert len({J.request_seed(seed, sample, attempt) for seed in range(3) for sample in range(5)
                for attempt in range(3)}) == 45
    assert (judgment.answer_status, judgment.task_status, judgment.pass_label) == (UNSURE, "Solvable", "unsure")
    assert (judgment.unreadable, judgment.judge_requests) == (1, 4)
    assert "unreadable after 2 attempts: 'hmm'" in judgment.reason


# -- reply parsing and the request (pure) ----------------------------------------------------------------------------


@pytest.mark.parametrize(("reply", "expected"), [
    (decision("answer_status", "Solved"), "Solved"),
    (decision("answer_status", "solved"), "Solved"),
    (ChatReply(content='{"reason": "ok", "answer_status": "Unsure"}'), "Unsure"),
    (ChatReply(content='Reason first.\n```json\n{"answer_status": "Unsolved", "reason": "x"}\n```'), "Unsolved"),
    (ChatReply(content="The answer lists the weather. answer_status: Solved"), "Solved"),
    (ChatReply(content="It names the city and the temperature.\n**Unsolved**"), "Unsolved"),
    (ChatReply(content="Unsolved"), "Unsolved"),
    (ChatReply(content="I cannot tell whether it is Solved or Unsolved really, it depends"), None),
    (ChatReply(content="", tool_calls=[]), None),
    (decision("answer_status", "Maybe"), None),
    # arguments that are not JSON: one value is read, the prompt's choices echoed are not (seen from SmolLM2-135M)
    (ScriptedChatModel.call("answer_status", '{"reason": "ok", "answer_status": "Unsolved"}}'), "Unsolved"),
    (ScriptedChatModel.call("answer_status", '{"reason": "text", "answer_status": "Solved" | "Unsolved" | "Unsure"}'),
     None),
    (ScriptedChatModel.call("answer_status", '{"answer_status": "Solved", "answer_status": "Unsure" x'), None),
])
def test_parse_answer_status(reply, expected):
    parsed = J.parse_decision(J.ANSWER_STATUS, reply)
    assert (parsed[0] if parsed else None) == expected


@pytest.mark.parametrize(("reply", "expected"), [
    (decision("better_answer", 1), 1),
    (decision("better_answer", "0"), 0),
    (decision("better_answer", 1.0), 1),
    (ChatReply(content='{"index": 1, "reason": "more complete"}'), 1),
    (decision("better_answer", 2), None),
    (decision("better_answer", True), None),
])
def test_parse_index(reply, expected):
    parsed = J.parse_decision(J.BETTER_ANSWER, reply)
    assert (parsed[0] if parsed else None) == expected


def test_request_shape():
    judge = J.Judge(ScriptedChatModel(), J.JudgeConfig(seed=5))
    messages, tools, params = judge.request(J.TASK_SOLVABLE, {"query": "Q?", "tools": "[]"}, sample=2)
    assert params == {"temperature": 0.2, "seed": J.request_seed(5, 2), "max_tokens": 1024,
                      "tool_choice": {"type": "function", "function": {"name": "task_solvable"}}}
    assert tools == [{"type": "function", "function": {
        "name": "task_solvable",
        "description": "Record whether the request can be solved with the tools available.",
        "parameters": {"type": "object", "properties": {
            "reason": {"type": "string", "description": "Why, in one to three sentences."},
            "task_status": {"type": "string", "enum": ["Solvable", "Unsolvable", "Unsure"]}},
            "required": ["reason", "task_status"]}}}]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"].startswith("Decide whether the user's request below can be solved")
    assert messages[1]["content"].endswith(
        'reply with only a JSON object: {"reason": "...", "task_status": <one of "Solvable", "Unsolvable", "Unsure">}.')
    _, tools, params = J.Judge(ScriptedChatModel(), J.JudgeConfig(use_tools=False)).request(
        J.ANSWER_STATUS, {"query": "q", "answer": "a"}, 0)
    assert tools is None and "tool_choice" not in params


def test_config_is_checked():
    with pytest.raises(J.JudgeError, match="temperature"):
        J.JudgeConfig(temperature=3)
    with pytest.raises(J.JudgeError, match="max_attempts"):
        J.JudgeConfig(max_attempts=0)
    with pytest.raises(J.JudgeError, match="k "):
        J.run_pass_rate({}, J.Judge(ScriptedChatModel()), k=0)


# -- k samples, SoPR, cached reruns --------------------------------------------------------------------------------


SAMPLE_1 = {J.request_seed(0, 1, attempt) for attempt in range(3)}


def by_seed(question, messages, params):
    """Sample 0 and 2 say Solved, sample 1 Unsure then (detailed) Unsolved; the task is always Solvable."""
    if question == "task_solvable":
        return "Solvable"
    if question == "detailed_answer_status":
        return UNSOLVED
    return UNSURE if params["seed"] in SAMPLE_1 else SOLVED


def three_answers():
    return {"a": prediction("a"), "b": prediction("b", finish=None), "c": prediction("c", final="Paris: 18 C")}


def test_k_samples_sopr_and_pass_rate():
    model = judge_model(by_seed)
    judgments = J.run_pass_rate(three_answers(), J.Judge(model), k=3, group="G1_instruction")
    assert [(j.query_id, j.sample) for j in judgments] == [(q, s) for q in "abc" for s in range(3)]
    summary = metrics.summarize_pass([j.to_dict() for j in judgments], k=3)["G1_instruction"]
    # runs 0 and 2: a, c Solved, b Unsolved (no Finish) -> 2/3; run 1: a, c Unsolved -> 0
    assert summary["sopr"]["runs"] == [2 / 3, 0.0, 2 / 3]
    assert summary["sopr"]["mean"] == pytest.approx(4 / 9)
    assert summary["sopr"]["std"] == pytest.approx((2 / 9) ** 0.5 * 2 / 3)
    # pass labels: a, c passed twice and failed once -> pass; b failed three times
    assert summary["pass_rate"] == {"value": 2 / 3, "count": 2, "n": 3}
    assert summary["rules"] == {"judge": 4, "judge_detailed": 2, "no_finish": 3}


def test_query_ids_count_missing_answers():
    judgments = J.run_pass_rate(three_answers(), J.Judge(judge_model(by_seed)), k=1, group="G",
                                query_ids=["a", "zz"])
    assert [(j.query_id, j.rule) for j in judgments] == [("a", "judge"), ("zz", "missing")]


def test_cached_rerun_gives_identical_judgments(tmp_path):
    cache = tmp_path / "judge.sqlite"
    first = J.run_pass_rate(three_answers(), J.Judge(CachedChatModel(judge_model(by_seed), cache)), k=3,
                            group="G1", concurrency=3)
    replay = CachedChatModel(None, cache, "replay", model="judge")
    second = J.run_pass_rate(three_answers(), J.Judge(replay), k=3, group="G1", concurrency=3)
    assert [j.to_dict() for j in first] == [j.to_dict() for j in second]
    assert metrics.summarize_pass([j.to_dict() for j in second]) == metrics.summarize_pass(
        [j.to_dict() for j in first])
    # a different seed is a different request: the replay cache does not have it
    with pytest.raises(CacheMissError):
        J.run_pass_rate(three_answers(), J.Judge(replay, J.JudgeConfig(seed=1)), k=1, group="G1")


def test_win_rate_reuses_the_pass_rate_judgments(tmp_path):
    cache = tmp_path / "judge.sqlite"
    answers = three_answers()
    J.run_pass_rate(answers, J.Judge(CachedChatModel(judge_model(by_seed), cache)), k=2, group="G1")
    # replaying: statuses come from the cache; only better_answer would be new, and b vs b is identical
    replay = J.Judge(CachedChatModel(None, cache, "replay", model="judge"))
    prefs = J.run_win_rate({"b": answers["b"]}, {"b": answers["b"]}, replay, rounds=2, group="G1")
    assert [(p.winner, p.rule) for p in prefs] == [("tie", "identical")] * 2


# -- win rate ------------------------------------------------------------------------------------------------------


def test_win_rate_rounds():
    cand = {"a": prediction("a", final="18 C, sunny"), "b": prediction("b", finish=None),
            "c": prediction("c", final="Paris is 18 C")}
    ref = {"a": prediction("a", final="sunny"), "b": prediction("b"), "c": prediction("c", final="Paris is 18 C"),
           "d": prediction("d")}

    def answers(question, messages, params):
        if question == "better_answer":  # prefers the answer that mentions "C,"
            text = messages[1]["content"]
            return 0 if text.index("Answer 0") < text.find("18 C, sunny") < text.index("Answer 1") else 1
        if question == "task_solvable":
            return "Solvable"
        return SOLVED

    model = judge_model(answers)
    prefs = J.run_win_rate(ref, cand, J.Judge(model), rounds=2, group="G1")
    got = {(p.query_id, p.round): (p.winner, p.rule, p.shown_first) for p in prefs}
    assert got == {
        ("a", 0): ("candidate", "judge", "reference"), ("a", 1): ("candidate", "judge", "candidate"),
        ("b", 0): ("reference", "only_one_solved", None), ("b", 1): ("reference", "only_one_solved", None),
        ("c", 0): ("tie", "identical", None), ("c", 1): ("tie", "identical", None),
        ("d", 0): ("reference", "missing_candidate", None), ("d", 1): ("reference", "missing_candidate", None),
    }
    summary = metrics.summarize_win([p.to_dict() for p in prefs])["G1"]
    assert (summary["win_rate"], summary["tie_rate"], summary["lose_rate"], summary["n"]) == (0.25, 0.25, 0.5, 4)
    body = judge_outputs.stabletoolbench_preferences(prefs, "ref", "cand")
    assert body["a"] == {"ref": 0, "cand": 2, "round_0": "complete", "round_1": "complete"}


def test_unsure_beats_unsolved_and_unreadable_choice_ties():
    ref, cand = prediction("a", final="sunny"), prediction("a", final="no idea")

    def answers(question, messages, params):
        content = messages[1]["content"]
        return UNSURE if "sunny" in content and question != "better_answer" else UNSOLVED

    pref = J.judge_preference(ref, cand, J.Judge(judge_model(answers)), 0)
    assert (pref.winner, pref.rule) == ("reference", "only_one_unsure")
    # both Unsolved and the judge never names an index: a tie, flagged unreadable
    model = ScriptedChatModel([decision("answer_status", UNSOLVED)] * 2 + ["pick one"] * 3)
    pref = J.judge_preference(ref, cand, J.Judge(model), 0)
    assert (pref.winner, pref.rule, pref.unreadable) == ("tie", "judge", 1)


def test_judge_sees_tools_and_steps():
    model = judge_model({"answer_status": UNSURE, "detailed_answer_status": UNSOLVED, "task_solvable": "Solvable"})
    J.judge_pass(prediction(), J.Judge(model), 0)
    detailed, solvable = model.requests[1]["messages"][1]["content"], model.requests[2]["messages"][1]["content"]
    assert '"call": "get_weather_for_weather"' in detailed and '\\"temp_c\\": 18' in detailed
    assert '"name": "get_weather_for_weather"' in solvable and "Finish" not in solvable
    assert TOOLS[0]["description"] in solvable
