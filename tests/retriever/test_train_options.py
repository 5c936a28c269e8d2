"""Training options that trade memory and time: dropout off, gradient checkpointing (the same gradients,
recomputed), bf16 autocast around the cached loss's backward pass, and each step's time in log.jsonl."""

import json
import math

import pytest
from retriever_fakes import build_tiny_model, make_api

from retriever.errors import ConfigError
from retriever.train import TrainConfig
from retriever.train import run as main
from toolbench.records import Query

TEXTS = ["weather in Paris tomorrow", "convert 100 dollars into euros", "movies starring Tom Hanks",
         "calories in an apple", "Premier League scores", "translate hello into Japanese"]


def toy_query_file(tmp_path):
    apis = [make_api("Toolbox", f"api{i}", f"returns records about {t.split()[0]}") for i, t in enumerate(TEXTS)]
    path = tmp_path / "G1_toy.json"
    path.write_text(json.dumps([Query(id=str(i), text=t, apis=apis, relevant=[("Toolbox", f"api{i}")]).to_dict()
                                for i, t in enumerate(TEXTS)]))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("m") / "tiny")


def _run(tmp_path, tiny, name, **over):
    path = toy_query_file(tmp_path)
    cfg = {"query_files": [str(path)], "output_dir": str(tmp_path / name), "model": str(tiny), "test_fraction": 0.0,
           "epochs": 2, "batch_size": 6, "max_steps": 2, "log_every": 0, "max_seq_length": 32,
           "learning_rate": 1e-3, "warmup_steps": 0, **over}
    return main(TrainConfig(**cfg))


def test_dropout_is_checked():
    with pytest.raises(ConfigError, match="dropout"):
        TrainConfig(query_files=[__file__], dropout=1.0)


def test_checkpointing_gives_the_same_losses_and_dropout_changes_them(tmp_path, tiny):
    plain = _run(tmp_path, tiny, "plain", mini_batch_size=0, dropout=0.0)
    ckpt = _run(tmp_path, tiny, "ckpt", mini_batch_size=0, dropout=0.0, gradient_checkpointing=True)
    dropped = _run(tmp_path, tiny, "dropped", mini_batch_size=0, dropout=0.5)
    assert plain.steps == ckpt.steps == 2
    assert ckpt.losses == pytest.approx(plain.losses, rel=1e-5)  # recomputed, not approximated
    assert dropped.losses[0] != pytest.approx(plain.losses[0], rel=1e-3)
    # the saved model keeps its own dropout for later fine-tuning; only this run's modules changed
    saved = json.loads((tmp_path / "plain" / "model" / "config.json").read_text())
    assert saved["hidden_dropout_prob"] == 0.1


def test_bf16_cached_loss_runs_and_logs_step_times(tmp_path, tiny):
    result = _run(tmp_path, tiny, "bf16", mini_batch_size=2, bf16=True, dropout=0.0)
    assert result.steps == 2 and all(math.isfinite(loss) for loss in result.losses)
    log = [json.loads(line) for line in (tmp_path / "bf16" / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [1, 2]
    assert 0 <= log[0]["elapsed"] <= log[1]["elapsed"]


def test_cpu_recipe_is_a_valid_config():
    from retriever.encoder import fast_bf16
    from retriever.train import cpu_recipe

    recipe = cpu_recipe()
    assert recipe["mini_batch_size"] == 0 and recipe["dropout"] == 0.0 and recipe["bf16"] == fast_bf16()
    assert TrainConfig(query_files=[__file__], **recipe).learning_rate == 1e-4


def test_soup_is_checked():
    with pytest.raises(ConfigError, match="soup"):
        TrainConfig(query_files=[__file__], soup=0)


def test_soup_saves_the_mean_of_its_members(tmp_path, tiny):
    """soup=2 trains seed 42's model and seed 43's (on the same split) and saves their weights' mean."""
    from sentence_transformers import SentenceTransformer

    one = _run(tmp_path, tiny, "s42", seed=42, mini_batch_size=0, dropout=0.0)
    two = _run(tmp_path, tiny, "s43", seed=43, mini_batch_size=0, dropout=0.0)
    soup = _run(tmp_path, tiny, "soup", seed=42, soup=2, mini_batch_size=0, dropout=0.0)
    assert soup.steps == one.steps + two.steps
    assert soup.losses == pytest.approx(one.losses + two.losses, rel=1e-5)
    states = [SentenceTransformer(str(tmp_path / n / "model"), device="cpu").state_dict() for n in ("s42", "s43", "soup")]
    moved = 0
    for name, mean in states[2].items():
        if mean.is_floating_point():
            expected = (states[0][name] + states[1][name]) / 2
            assert mean.float().allclose(expected.float(), atol=1e-6), name
            moved += int(not states[0][name].equal(states[1][name]))
    assert moved > 0  # the members differ, so the mean is neither of them
    log = [json.loads(line) for line in (tmp_path / "soup" / "log.jsonl").read_text().splitlines()]
    assert [r["member"] for r in log] == [0] * one.steps + [1] * two.steps
