"""Search settings: strategy names, the tree policy each implies, ToolBench's forward_args both ways."""

import pytest

from annotate import tree as T
from annotate.strategies import SearchConfig, StrategyError


def test_each_strategy_implies_its_tree_policy():
    assert SearchConfig(width=3, max_steps=6).policy() == T.Policy(width=3, max_steps=6, diversity=True,
                                                                   give_up_backtrack=2)
    assert SearchConfig(strategy="react").policy() == T.Policy(width=1, root_width=1, max_steps=12, diversity=False,
                                                               give_up_backtrack=1)
    at3 = SearchConfig(strategy="react@3")
    assert (at3.strategy, at3.restarts, at3.label, at3.policy().root_width) == ("react@n", 3, "react@3", 3)
    assert SearchConfig(step_unit="toolbench").policy().step_unit == T.STEP_TOOLBENCH


def test_bad_settings_name_the_field():
    with pytest.raises(StrategyError, match="strategy: must be one of"):
        SearchConfig(strategy="mcts")
    with pytest.raises(StrategyError, match="step_unit: must be one of reply, toolbench"):
        SearchConfig(step_unit="nodes")
    with pytest.raises(StrategyError, match="max_steps: must be an integer >= 1"):
        SearchConfig(max_steps=0)


def test_forward_args_count_toolbench_nodes_when_read_back():
    args = SearchConfig(width=2, max_steps=12).forward_args()
    assert args == {"single_chain_max_step": 12, "tree_beam_size": 2, "max_query_count": 200, "answer": 1,
                    "with_filter": False}
    back = SearchConfig.from_forward_args(args)
    assert (back.strategy, back.width, back.max_steps, back.step_unit) == ("dfsdt", 2, 12, T.STEP_TOOLBENCH)
    cot = SearchConfig.from_forward_args({"single_chain_max_step": 12, "pass_at": 2, "answer": 1})
    assert (cot.strategy, cot.restarts, cot.step_unit) == ("react@n", 2, T.STEP_TOOLBENCH)
