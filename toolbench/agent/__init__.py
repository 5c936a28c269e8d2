"""The agent runtime: a tool model working for people, with a person approving consequential calls.

``graph`` (the LangGraph agent), ``policy`` (execute or suggest, per API), ``store`` (feedback and call journal in
SQLite), ``session`` (sessions that survive restarts), ``server`` (the HTTP API).
"""
