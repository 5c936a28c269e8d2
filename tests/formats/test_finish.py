"""Finish's arguments: the strict reading of a search and the lenient reading of a judge (ToolEval's)."""

import pytest

from toolbench.formats.finish import GIVE_ANSWER, GIVE_UP_AND_RESTART, parse_finish, tooleval_finish


@pytest.mark.parametrize(("arguments", "expected"), [
    ('{"return_type": "give_answer", "final_answer": "Done."}', ("give_answer", "Done.")),
    ('{"return_type": "give_up_and_restart"}', ("give_up", "")),
    ('{"return_type": "give_answer", "final_answer": ""}', ("give_up", "")),
    ('{\n"return_type": "give_answer",\n"final_answer": "He said "hi"\n}', ("give_answer", 'He said "hi')),
    ("The weather is sunny.", ("give_answer", "The weather is sunny.")),
])
def test_tooleval_finish(arguments, expected):
    assert tooleval_finish(arguments) == expected


@pytest.mark.parametrize(("arguments", "expected"), [
    ('{"return_type": "give_answer", "final_answer": "42"}', (GIVE_ANSWER, "42", None)),
    ('{"return_type": "give_answer", "final_answer": {"n": 1}}', (GIVE_ANSWER, '{"n": 1}', None)),
    ('{"return_type": "give_up_and_restart"}', (GIVE_UP_AND_RESTART, None, None)),
    ('{"return_type": "give_answer"}',
     (GIVE_ANSWER, None, 'Finish must have "final_answer" when "return_type" is "give_answer"')),
    ("", (None, None, 'Finish must have "return_type"')),
    ("[1]", (None, None, "the arguments of Finish must be a JSON object")),
    ('{"return_type": "maybe"}',
     ("maybe", None, "\"return_type\" must be \"give_answer\" or \"give_up_and_restart\", not 'maybe'")),
])
def test_parse_finish_refuses_what_is_not_exactly_right(arguments, expected):
    assert parse_finish(arguments) == expected
    assert parse_finish("{")[2].startswith("the arguments of Finish are not JSON")
