"""``sharpsim lm`` (sharpsim.torch.cli.main) on a tiny model saved to a folder; the bundled tasks."""

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from sharpsim.torch import tiny_causal_lm  # noqa: E402
from sharpsim.torch.cli import main  # noqa: E402
from sharpsim.torch.tasks import extract_answer, make_tasks  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    lm = tiny_causal_lm("llama", seed=0)
    lm.model.save_pretrained(folder)
    lm.tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture()
def prompts_file(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("1+1=\n\nab\n")
    return path


def test_bon(model_dir, prompts_file, capsys):
    assert (
        main(
            [
                "bon",
                "--model",
                str(model_dir),
                "--prompts",
                str(prompts_file),
                "-N",
                "3",
                "--max-new-tokens",
                "3",
            ]
        )
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["prompt"] for r in lines] == ["1+1=", "ab"]
    from sharpsim.torch import CausalLMPolicy, best_of_n

    same = best_of_n(
        CausalLMPolicy.from_pretrained(model_dir), ["1+1=", "ab"], 3, max_new_tokens=3, rng=0
    )
    assert [r["response"] for r in lines] == same.texts
    assert [r["log_prob"] for r in lines] == same.log_probs.tolist()


def test_sft_and_power(model_dir, prompts_file, tmp_path, capsys):
    out = tmp_path / "sharpened"
    assert (
        main(
            [
                "sft",
                "--model",
                str(model_dir),
                "--prompts",
                str(prompts_file),
                "-N",
                "2",
                "--max-new-tokens",
                "3",
                "--epochs",
                "1",
                "--full",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert (out / "config.json").is_file()
    assert (
        main(
            [
                "power",
                "--model",
                str(model_dir),
                "--prompts",
                str(prompts_file),
                "--alpha",
                "2",
                "--max-new-tokens",
                "3",
                "--block-size",
                "2",
                "--n-mcmc",
                "1",
            ]
        )
        == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_bad_input(model_dir, prompts_file, tmp_path, capsys):
    assert main(["bon", "--model", str(tmp_path / "missing"), "--prompts", str(prompts_file)]) == 2
    assert "path must be an existing local model folder" in capsys.readouterr().err
    assert main(["bon", "--model", str(model_dir), "--prompts", str(tmp_path / "none.txt")]) == 2
    assert "--prompts must be an existing text file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["nope"])


def test_tasks_are_deterministic_and_answers_extract():
    a, b = make_tasks(12, seed=3), make_tasks(12, seed=3)
    assert a == b and a != make_tasks(12, seed=4)
    for t in a:
        assert extract_answer(f"The answer is {t.answer}.", t.kind) == t.answer
    assert extract_answer("3 + 4 = 7", "arithmetic") == "7"
    with pytest.raises(ValueError, match="kinds must be"):
        make_tasks(2, kinds=("poetry",))
    with pytest.raises(ValueError, match="kind must be"):
        extract_answer("x", "poetry")
