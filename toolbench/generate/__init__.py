"""Turning a catalog into tasks: instructions (ToolBench queries) and function-call samples, with their checks.

- :mod:`~toolbench.generate.api_sets`: seeded G1/G2/G3 API-set sampling;
- :mod:`~toolbench.generate.instructions`: LLM-written ToolBench queries, with filters that keep the reason;
- argument values come from :mod:`toolbench.catalog.values` (shared with the crawler);
- :mod:`~toolbench.generate.calls`: function-call samples made by program, in BFCL's categories, recorded as
  :class:`~toolbench.generate.call_samples.CallSample`; its hard cases draw on
  :mod:`~toolbench.generate.distractors` (near misses and the rules that keep an answer unique),
  :mod:`~toolbench.generate.abstain` (the text replies of no-call samples), :mod:`~toolbench.generate.off_topic`
  (off-topic requests), :mod:`~toolbench.generate.fakes` (made-up trap entities) and
  :mod:`~toolbench.generate.chains` (values a request must state, multi-turn chains);
- :mod:`~toolbench.generate.verify`: APIGen's three verification stages (format, execution, meaning);
- :mod:`~toolbench.generate.export`: BFCL, OpenAI fine-tuning, ShareGPT and ToolBench query files, and a
  held-out split that shares no API-argument combination with the training split.
"""
