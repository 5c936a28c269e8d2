"""Language models: the ChatModel interface, the OpenAI-compatible client, the local server (see base.py)."""
