"""When the agent may run a call on its own, and when a person must approve it first.

Two questions, answered per API:

1. **Does the call change state?** A *consequential* API is one whose method is POST, PUT, PATCH or DELETE,
   unless the catalog says otherwise in the API entry's ``x-consequential`` key (``true``/``false``), or a policy
   file lists it under ``consequential`` or ``read_only`` (the file wins, then the catalog, then the method).
   Read-only calls always run directly.
2. **How accurate is the model on this API?** The evaluation stage measures per-API AST accuracy and writes it as
   JSON: ``{"<tool>/<api>" or "<function name>": {"accuracy": 0.93, "n": 40}}``. A consequential call runs on its
   own (*execute*) only when the model's accuracy on that API is at least ``threshold`` over at least ``min_n``
   measured calls, and the API is not listed under ``always_confirm``; otherwise the call is only *suggested*
   and waits for a person to approve, edit or reject it.

A policy file (JSON or YAML) may set ``threshold``, ``min_n`` and the three lists; each list entry is
``"<tool>/<api>"`` (tool by name or standardised name) or a function name (``create_order_for_shopease_orders``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbench.catalog.functions import FunctionSet, OfferedFunction
from toolbench.catalog.naming import standardize
from toolbench.errors import ToolbenchError
from toolbench.records import Api

EXECUTE = "execute"
SUGGEST = "suggest"
STATE_CHANGING_METHODS = ("POST", "PUT", "PATCH", "DELETE")
CONSEQUENTIAL_KEY = "x-consequential"


class PolicyError(ToolbenchError):
    """An accuracy or policy file is malformed: the message names the file, the key and what to do."""


@dataclass(frozen=True)
class Evidence:
    """Measured AST accuracy of the model on one API: ``accuracy`` over ``n`` calls (``key`` is the file's)."""

    accuracy: float
    n: int
    key: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "n": self.n, "key": self.key}


@dataclass(frozen=True)
class Decision:
    """The policy for one API: ``mode`` is :data:`EXECUTE` or :data:`SUGGEST`; ``reason`` says why in words."""

    mode: str
    consequential: bool
    consequential_source: str  # "method" | "catalog" | "policy file"
    reason: str
    evidence: Evidence | None = None

    @property
    def needs_approval(self) -> bool:
        return self.mode == SUGGEST

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "consequential": self.consequential,
                "consequential_source": self.consequential_source, "reason": self.reason,
                "evidence": self.evidence.to_dict() if self.evidence else None}


def api_keys(api: Api, function_name: str = "") -> list[str]:
    """Every spelling under which a file may name ``api`` (lower-cased): ``tool/api`` with the tool's name or
    standardised name, the API's name or standardised name, and the function name."""
    tools = {api.tool, standardize(api.tool)}
    names = {api.name, standardize(api.name)}
    keys = [f"{t}/{n}".lower() for t in sorted(tools) for n in sorted(names)]
    if function_name:
        keys.append(function_name.lower())
    return keys


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    return None


def read_accuracy(path: str | Path) -> dict[str, Evidence]:
    """Per-API accuracy from the evaluation stage's JSON file, keyed by the lower-cased key of the file.

    The file is ``{key: {"accuracy": float in [0, 1], "n": int >= 0}}`` (a top-level ``per_api`` object holding
    that mapping is accepted too).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the accuracy file ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    if isinstance(data, dict) and isinstance(data.get("per_api"), dict):
        data = data["per_api"]
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected an object {{\"tool/api\": {{\"accuracy\": x, \"n\": k}}}}")
    out: dict[str, Evidence] = {}
    for key, entry in data.items():
        where = f"{path}: {key!r}"
        if not isinstance(entry, dict):
            raise PolicyError(f"{where}: expected {{\"accuracy\": x, \"n\": k}}, got {type(entry).__name__}")
        acc, n = entry.get("accuracy"), entry.get("n")
        if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0.0 <= acc <= 1.0 or math.isnan(acc):
            raise PolicyError(f"{where}.accuracy: must be a number between 0 and 1, got {acc!r}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise PolicyError(f"{where}.n: must be the number of measured calls (an integer >= 0), got {n!r}")
        out[key.lower()] = Evidence(float(acc), n, key)
    return out


@dataclass
class TrustPolicy:
    """Execute or suggest, per API (see the module docstring)."""

    threshold: float = field(default=0.9, metadata={
        "help": "Lowest measured AST accuracy at which a consequential call runs without approval."})
    min_n: int = field(default=10, metadata={
        "help": "Fewest measured calls that count as evidence; below it a consequential call is suggested."})
    accuracy: dict[str, Evidence] = field(default_factory=dict, metadata={
        "help": "Lower-cased key -> measured accuracy (read_accuracy)."})
    consequential: set[str] = field(default_factory=set, metadata={
        "help": "APIs that change state whatever their method (lower-cased keys)."})
    read_only: set[str] = field(default_factory=set, metadata={
        "help": "APIs that change nothing whatever their method, e.g. a search sent as POST (lower-cased keys)."})
    always_confirm: set[str] = field(default_factory=set, metadata={
        "help": "Consequential APIs that always wait for approval, whatever the accuracy (lower-cased keys)."})

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) \
                or not 0.0 <= self.threshold <= 1.0:
            raise PolicyError(f"threshold: must be between 0 and 1, got {self.threshold!r}")
        if isinstance(self.min_n, bool) or not isinstance(self.min_n, int) or self.min_n < 0:
            raise PolicyError(f"min_n: must be an integer >= 0, got {self.min_n!r}")
        self.consequential = {k.lower() for k in self.consequential}
        self.read_only = {k.lower() for k in self.read_only}
        self.always_confirm = {k.lower() for k in self.always_confirm}
        both = self.consequential & self.read_only
        if both:
            raise PolicyError(f"consequential and read_only both list {sorted(both)}; keep each API in one list")

    @classmethod
    def load(cls, policy_file: str | Path | None = None, accuracy_file: str | Path | None = None,
             threshold: float | None = None, min_n: int | None = None) -> TrustPolicy:
        """A policy from a policy file and an accuracy file (both optional); ``threshold``/``min_n`` given here
        override the file's."""
        raw: dict[str, Any] = {}
        if policy_file is not None:
            raw = _read_policy_file(Path(policy_file))
        known = {"threshold", "min_n", "consequential", "read_only", "always_confirm"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise PolicyError(f"{policy_file}: unknown key(s) {unknown}; use {sorted(known)}")
        lists: dict[str, set[str]] = {}
        for name in ("consequential", "read_only", "always_confirm"):
            value = raw.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise PolicyError(f"{policy_file}: {name}: must be a list of \"tool/api\" or function names")
            lists[name] = set(value)
        return cls(
            threshold=threshold if threshold is not None else raw.get("threshold", 0.9),
            min_n=min_n if min_n is not None else raw.get("min_n", 10),
            accuracy=read_accuracy(accuracy_file) if accuracy_file is not None else {},
            **lists,
        )

    # -- decisions -------------------------------------------------------------------------------------
    def is_consequential(self, api: Api, function_name: str = "") -> tuple[bool, str]:
        """(changes state?, where that came from: "policy file", "catalog" or "method")."""
        keys = api_keys(api, function_name)
        if any(k in self.consequential for k in keys):
            return True, "policy file"
        if any(k in self.read_only for k in keys):
            return False, "policy file"
        flag = _flag(api.extra.get(CONSEQUENTIAL_KEY))
        if flag is not None:
            return flag, "catalog"
        return api.method.upper() in STATE_CHANGING_METHODS, "method"

    def evidence(self, api: Api, function_name: str = "") -> Evidence | None:
        for key in api_keys(api, function_name):
            if key in self.accuracy:
                return self.accuracy[key]
        return None

    def decide(self, api: Api, function_name: str = "") -> Decision:
        consequential, source = self.is_consequential(api, function_name)
        evidence = self.evidence(api, function_name)
        what = f"{api.method.upper()} changes state" if source == "method" else f"marked consequential ({source})"
        if not consequential:
            why = "read-only" + (f" ({source})" if source != "method" else f" ({api.method.upper()})")
            return Decision(EXECUTE, False, source, why, evidence)
        if any(k in self.always_confirm for k in api_keys(api, function_name)):
            return Decision(SUGGEST, True, source, f"{what}; always confirmed (policy file)", evidence)
        if evidence is None:
            return Decision(SUGGEST, True, source, f"{what}; no measured accuracy", evidence)
        if evidence.n < self.min_n:
            return Decision(SUGGEST, True, source,
                            f"{what}; only {evidence.n} measured calls (< min_n {self.min_n})", evidence)
        if evidence.accuracy >= self.threshold:
            return Decision(EXECUTE, True, source, f"{what}; accuracy {evidence.accuracy:.3f} >= threshold "
                                                   f"{self.threshold:.3f} over {evidence.n} calls", evidence)
        return Decision(SUGGEST, True, source, f"{what}; accuracy {evidence.accuracy:.3f} < threshold "
                                               f"{self.threshold:.3f} over {evidence.n} calls", evidence)

    def decide_function(self, function: OfferedFunction) -> Decision:
        return self.decide(function.api, function.name)

    def table(self, functions: FunctionSet) -> list[dict[str, Any]]:
        """One row per API of ``functions``: the policy and the evidence behind it (for ``agent policy``)."""
        rows = []
        for name, fn in functions.functions.items():
            d = self.decide_function(fn)
            rows.append({"tool": fn.api.tool, "api": fn.api.name, "function": name, "method": fn.api.method.upper(),
                         **d.to_dict()})
        return rows

    def unmatched(self, functions: FunctionSet) -> list[str]:
        """Keys of the accuracy file that name no API of ``functions`` (typos, another catalog)."""
        used = {k for fn in functions.functions.values() for k in api_keys(fn.api, fn.name)}
        return sorted(e.key for k, e in self.accuracy.items() if k not in used)


def _read_policy_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file ({exc.strerror})") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    except Exception as exc:  # yaml.YAMLError or json.JSONDecodeError
        raise PolicyError(f"{path}: not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: "
                          f"{exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping with threshold, min_n, consequential, read_only, "
                          "always_confirm")
    return data
