"""DeepSpeed JSON configs and YAML training recipes (package data)."""
