"""The search tree as pure data: every test builds trees by hand and compares with plain equality."""

import json

import pytest

from annotate import tree as T
from annotate.tree import Budget, Call, Policy

OPENING = ({"role": "system", "content": "sys"}, {"role": "user", "content": "task"})
DFSDT = Policy(width=2, max_steps=4)
GIVE_UP = '{"return_type": "give_up_and_restart"}'
ANSWER = '{"return_type": "give_answer", "final_answer": "42"}'


def step(tree, parent, name, arguments="{}", content=None, prompt=None, result=None, policy=DFSDT):
    """Expand ``parent`` with one call and record its result (Finish results are worked out as the graph does)."""
    tree = T.expand(tree, parent, content, [Call(f"c{len(tree.nodes)}", name, arguments)], prompt=prompt,
                    prompt_tokens=10, completion_tokens=5)
    if name == T.FINISH:
        obs, code, _, _ = T.finish_observation(arguments)
        return T.observe(tree, tree.cursor, [(obs, code)], policy)
    return T.observe(tree, tree.cursor, [result or ('{"error": "", "response": "ok"}', T.CODE_OK)], policy,
                     api_calls=1)


def test_first_step_from_the_root():
    tree = T.start(OPENING)
    assert T.select(tree, DFSDT) == 0
    assert T.next_request(tree, DFSDT) == (0, list(OPENING), None)
    tree = step(tree, 0, "f", '{"a": 1}', content="thinking")
    assert tree.nodes[0].children == (1,)
    assert tree.nodes[1] == T.Node(id=1, parent=0, depth=1, content="thinking",
                                   calls=(Call("c1", "f", '{"a": 1}', '{"error": "", "response": "ok"}', 0),),
                                   prompt_tokens=10, completion_tokens=5)
    assert (tree.cursor, tree.llm_calls, tree.api_calls, tree.total_tokens) == (1, 1, 1, 15)
    assert T.select(tree, DFSDT) == 1
    assert T.request_messages(tree, 1) == list(OPENING) + [
        {"role": "assistant", "content": "thinking",
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"error": "", "response": "ok"}'},
    ]


def test_give_up_backs_up_two_levels_then_the_retry_sees_the_earlier_attempt():
    tree = step(T.start(OPENING), 0, "f")          # node 1
    tree = step(tree, 1, T.FINISH, GIVE_UP)        # node 2 gives up from node 1's state
    assert (tree.nodes[2].pruned, tree.nodes[2].finish, tree.nodes[1].closed) == (True, T.GIVE_UP, True)
    # Node 1 (the state given up from) is not retried: the root is, with the earlier attempt shown.
    assert T.select(tree, DFSDT) == 0
    expected = T.DIVERSITY_PROMPT.replace("{previous_candidate}", json.dumps(
        [{"name": "f", "arguments": "{}", "function_output": '{"error": "", "response": "ok"}',
          "mento-carlo-action-value": 0.0}], indent=2) + "\n")
    assert T.diversity_prompt(tree, 0) == expected
    node_id, messages, prompt = T.next_request(tree, DFSDT)
    assert (node_id, prompt, messages) == (0, expected, list(OPENING) + [{"role": "user", "content": expected}])
    tree = step(tree, 0, "g", prompt=expected)     # node 3, second child of the root
    tree = step(tree, 3, T.FINISH, ANSWER)         # node 4 answers
    assert tree.status == T.SOLVED and T.select(tree, DFSDT) is None
    # A later step's request leaves the earlier diversity prompt out.
    assert {"role": "user", "content": expected} not in T.request_messages(tree, 4)
    tree = T.conclude(tree)
    assert (tree.chosen, tree.finish_type, T.final_answer(tree), T.path(tree, 4)) == (4, T.GIVE_ANSWER, "42", [3, 4])
    assert T.node_path_key(tree, 4) == "1.0"


def test_former_observation_is_repeated_below_inner_nodes():
    tree = step(T.start(OPENING), 0, "f")
    tree = step(tree, 1, "g", result=('{"error": "boom", "response": ""}', T.CODE_ERROR_MESSAGE))
    tree = step(tree, 2, "h")
    tree = step(tree, 3, T.FINISH, GIVE_UP)  # closes node 3; node 2 is retried
    assert T.select(tree, DFSDT) == 2
    assert T.diversity_prompt(tree, 2).endswith(
        '  }\n]\nagain, your former observation: {"error": "boom", "response": ""}\n\nRemember you are now in the '
        'intermediate state of a trail, you will first analyze the now state and previous action candidates, '
        'then make actions that is different from all the previous.')


def test_a_chain_at_max_steps_is_pruned_and_its_parent_retried():
    policy = Policy(width=2, max_steps=2)
    tree = step(T.start(OPENING), 0, "f", policy=policy)
    tree = step(tree, 1, "g", policy=policy)
    assert tree.nodes[2].pruned and tree.nodes[2].closed and not tree.nodes[1].closed
    assert T.select(tree, policy) == 1
    tree = step(tree, 1, "h", policy=policy)
    assert T.select(tree, policy) == 0  # node 1 has its two children
    tree = step(tree, 0, "k", policy=policy)
    tree = step(tree, 4, "m", policy=policy)
    tree = step(tree, 4, "n", policy=policy)
    assert T.select(tree, policy) is None
    tree = T.conclude(tree)
    assert (tree.status, tree.chosen, tree.finish_type) == (T.EXHAUSTED, None, None)


def test_max_steps_in_toolbench_nodes_counts_thought_action_and_action_input():
    # ToolBench's single_chain_max_step=12 counts its tree nodes: a reply with text and one call is a Thought,
    # an Action and an Action Input (3 nodes); a reply without text is 2; a reply with two calls and text is 5.
    policy = Policy(width=1, max_steps=12, step_unit=T.STEP_TOOLBENCH)
    tree = step(T.start(OPENING), 0, "f", content="think", policy=policy)             # 3
    tree = step(tree, 1, "g", policy=policy)                                          # 3 + 2 = 5
    tree = T.expand(tree, 2, "two calls", [Call("a", "h", "{}"), Call("b", "k", "{}")])
    tree = T.observe(tree, 3, [("ok", T.CODE_OK)] * 2, policy, api_calls=2)           # 5 + 5 = 10
    assert [T.chain_length(tree, n, T.STEP_TOOLBENCH) for n in (1, 2, 3)] == [3, 5, 10]
    assert [T.chain_length(tree, n) for n in (1, 2, 3)] == [1, 2, 3]  # replies
    assert not tree.nodes[3].pruned and T.select(tree, policy) == 3
    tree = step(tree, 3, "m", policy=policy)                                          # 10 + 2 = 12: cut
    assert tree.nodes[4].pruned and T.select(tree, policy) is None
    # Counted in replies, the same chain goes on.
    replies = Policy(width=1, max_steps=12)
    assert not T.observe(T.expand(tree, 3, None, [Call("x", "m", "{}")]), 5, [("ok", 0)], replies).nodes[5].pruned
    with pytest.raises(T.TreeError, match="step_unit"):
        Policy(step_unit="tokens")


def test_react_is_one_chain_and_react_at_n_restarts_from_the_root():
    react = Policy(width=1, max_steps=5, diversity=False, give_up_backtrack=1)
    tree = step(step(T.start(OPENING), 0, "f", policy=react), 1, T.FINISH, GIVE_UP, policy=react)
    assert T.select(tree, react) is None
    restarts = Policy(width=1, root_width=3, max_steps=5, diversity=False, give_up_backtrack=1)
    tree = step(T.start(OPENING), 0, T.FINISH, GIVE_UP, policy=restarts)
    assert T.select(tree, restarts) == 0
    tree = step(tree, 0, T.FINISH, GIVE_UP, policy=restarts)
    tree = step(tree, 0, T.FINISH, GIVE_UP, policy=restarts)
    assert tree.nodes[0].children == (1, 2, 3) and T.select(tree, restarts) is None
    assert T.conclude(tree).chosen == 1


def test_a_give_up_at_the_first_step_ends_dfsdt_as_in_toolbench():
    tree = step(T.start(OPENING), 0, T.FINISH, GIVE_UP)
    assert tree.nodes[0].closed and T.select(tree, DFSDT) is None
    concluded = T.conclude(tree)
    assert (concluded.status, concluded.finish_type) == (T.EXHAUSTED, T.GIVE_UP)


@pytest.mark.parametrize("arguments, expected", [
    ('{"return_type": "give_answer", "final_answer": "x"}',
     ('{"response":"successfully giving the final answer."}', T.CODE_ANSWER, T.GIVE_ANSWER, "x")),
    ('{"return_type": "give_up_and_restart"}',
     ('{"response":"chose to give up and restart"}', T.CODE_GIVE_UP, T.GIVE_UP, None)),
    ('{"return_type": "give_answer"}',
     ('{"error": "Finish must have \\"final_answer\\" when \\"return_type\\" is \\"give_answer\\"", '
      '"response": ""}', T.CODE_BAD_FINISH, None, None)),
    ('{}', ('{"error": "Finish must have \\"return_type\\"", "response": ""}', T.CODE_BAD_FINISH, None, None)),
    ('not json', ('{"error": "the arguments of Finish are not JSON (Expecting value)", "response": ""}',
                  T.CODE_BAD_FINISH, None, None)),
])
def test_finish_observations(arguments, expected):
    assert T.finish_observation(arguments) == expected


def test_a_bad_finish_keeps_the_chain_going():
    tree = step(T.start(OPENING), 0, T.FINISH, "{}")
    assert (tree.status, tree.nodes[1].finish, tree.nodes[1].pruned, T.select(tree, DFSDT)) == (T.RUNNING, None,
                                                                                                  False, 1)


def test_budgets():
    tree = step(step(T.start(OPENING), 0, "f"), 1, "g")
    assert Budget().spent(tree) is None
    assert Budget(max_llm_calls=2).spent(tree) == "2 model calls reached max_llm_calls=2"
    assert Budget(max_api_calls=2).spent(tree) == "2 API calls reached max_api_calls=2"
    assert Budget(max_tokens=30).spent(tree) == "30 tokens reached max_tokens=30"
    # 20 prompt tokens at $1/M + 10 completion tokens at $2/M = $0.00004
    assert Budget(max_cost=0.00004, price=(1.0, 2.0)).spent(tree) == "$0.0000 reached max_cost=$0.0000"
    assert Budget(max_cost=0.00005, price=(1.0, 2.0)).spent(tree) is None
    concluded = T.conclude(tree, T.BUDGET, Budget(max_tokens=30).spent(tree))
    assert (concluded.status, concluded.reason) == (T.BUDGET, "30 tokens reached max_tokens=30")


def test_pure_functions_never_change_their_input():
    tree = step(T.start(OPENING), 0, "f")
    before = tree.to_dict()
    step(tree, 1, T.FINISH, GIVE_UP)
    T.conclude(tree)
    assert tree.to_dict() == before


def test_dict_round_trip():
    tree = step(step(T.start(OPENING), 0, "f", content="hm"), 1, T.FINISH, ANSWER)
    tree = T.conclude(tree)
    data = json.loads(json.dumps(tree.to_dict()))
    assert T.Tree.from_dict(data) == tree


def test_errors_name_the_problem():
    with pytest.raises(T.TreeError, match="no node 7"):
        T.expand(T.start(OPENING), 7, None, [])
    with pytest.raises(T.TreeError, match="'width' must be >= 1"):
        Policy(width=0)
    with pytest.raises(T.TreeError, match="made 1 calls but 0 results"):
        tree = T.expand(T.start(OPENING), 0, None, [Call("c", "f", "{}")])
        T.observe(tree, 1, [], DFSDT)
