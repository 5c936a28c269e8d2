"""Training data: chat examples, and the file formats they come from and go to.

A :class:`ChatExample` is one conversation in OpenAI's form plus the tools offered:

- ``messages``: ``system`` (optional, first), ``user``, ``assistant`` (``content`` and/or ``tool_calls`` in OpenAI's
  wire form, arguments as a JSON string) and ``tool`` (``tool_call_id``, ``name``, ``content``). An assistant
  message may carry OpenAI's fine-tuning ``weight``: ``0`` keeps it in the context but out of the loss.
- ``tools``: OpenAI ``tools`` entries (``{"type": "function", "function": {...}}``).

Sources and sinks (each reader gives back what the matching writer wrote, see the tests):

=====================  =======================================================================================
ToolBench answers      DFSDT answer files (``answer_generation.train_messages``): the successful path of each
                       valid tree; ``steps=True`` gives ToolBench's one-example-per-step form instead
OpenAI fine-tuning     JSONL lines ``{"messages": [...], "tools": [...]}`` (legacy ``functions`` /
                       ``function_call`` accepted on input)
ShareGPT/LLaMA-Factory ``{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation", "value"}],
                       "system": str, "tools": "<JSON list of function schemas>"}``
ToolLLaMA              ToolBench's preprocessed form: ``{"id", "conversations": [{"from": "system"|"user"|
                       "assistant"|"function", "value"}]}``, the functions listed in the system prompt and each
                       assistant turn written as ``Thought: / Action: / Action Input:``
=====================  =======================================================================================

Formats that carry no call ids (ShareGPT, ToolLLaMA, ToolBench) get ``call_<message>_<call>`` ids on reading, and a
tool message's ``name`` is always the name of the call it answers.

Loss masks and tokenisation are in :mod:`train.encode`.

One module per part: :mod:`.example` (the record, normalisation, checks), :mod:`.toolbench_answers`,
:mod:`.openai_jsonl`, :mod:`.sharegpt`, :mod:`.toolllama` (one per format), :mod:`.files` (reading and writing
files in any of them). Every name is importable from ``train.format``.
"""

from train.format.example import (
    FORMATS,
    ROLES,
    ChatExample,
    call_id,
    check_example,
    make_example,
    normalize_messages,
    normalize_tools,
)
from train.format.files import (
    detect_format,
    read_examples,
    write_examples,
)
from train.format.openai_jsonl import (
    from_openai,
    to_openai,
)
from train.format.sharegpt import (
    SHAREGPT_ROLES,
    from_sharegpt,
    to_sharegpt,
)
from train.format.toolbench_answers import (
    from_toolbench_answer,
)
from train.format.toolllama import (
    TOOLLLAMA_ANCHOR,
    TOOLLLAMA_HINT,
    TOOLLLAMA_MARKER,
    from_toolllama,
    last_turn_only,
    to_toolllama,
)

__all__ = [
    "FORMATS",
    "ROLES",
    "SHAREGPT_ROLES",
    "TOOLLLAMA_ANCHOR",
    "TOOLLLAMA_HINT",
    "TOOLLLAMA_MARKER",
    "ChatExample",
    "call_id",
    "check_example",
    "detect_format",
    "from_openai",
    "from_sharegpt",
    "from_toolbench_answer",
    "from_toolllama",
    "last_turn_only",
    "make_example",
    "normalize_messages",
    "normalize_tools",
    "read_examples",
    "to_openai",
    "to_sharegpt",
    "to_toolllama",
    "write_examples",
]
