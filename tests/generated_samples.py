"""Generated samples as `toolbench generate calls` writes them to samples.jsonl, for the tests of the steps that
read them (the demo's tasks, `eval tiers`, `train mix`)."""

WEATHER = {"name": "get_weather_for_skycast", "parameters": {"type": "object", "properties": {
    "city": {"type": "string"}, "units": {"type": "string", "enum": ["metric", "imperial"]}}}}
SAMPLES = {
    "simple_1": {"id": "simple_1", "category": "simple", "language": "en", "functions": [WEATHER],
                 "function_map": {"get_weather_for_skycast": ["SkyCast Weather", "get_current_weather"]},
                 "steps": [{"user": "Weather in Lyon?", "calls": [
                     {"name": "get_weather_for_skycast", "arguments": {"city": "Lyon"}, "tool": "SkyCast Weather",
                      "api": "get_current_weather"}], "observations": ['{"temp": 18}']}]},
    "simple_2": {"id": "simple_2", "category": "simple", "language": "en", "functions": [WEATHER],
                 "steps": [{"user": "Weather in Oslo, metric", "calls": [
                     {"name": "get_weather_for_skycast", "arguments": {"city": "Oslo", "units": "metric"},
                      "tool": "SkyCast Weather", "api": "get_current_weather"}], "observations": ["{}"]}]},
    "hallucination_3": {"id": "hallucination_3", "category": "hallucination", "functions": [WEATHER],
                        "meta": {"target": ["SkyCast Weather", "get_current_weather"]},
                        "steps": [{"user": "Weather for Zorblax Inc?", "calls": []}]},
    "multi_turn_4": {"id": "multi_turn_4", "category": "multi_turn", "functions": [WEATHER], "steps": [
        {"user": "a", "calls": [{"name": "f", "arguments": {}, "tool": "T", "api": "f"}], "observations": ["1"]},
        {"user": None, "calls": [{"name": "g", "arguments": {"x": [1]}, "tool": "T", "api": "g"}],
         "observations": []}]},
}
