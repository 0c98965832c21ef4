"""The bundled tasks: determinism, train/test disjointness, balance, answer extraction, bad input.

No model is loaded; the extraction cases are responses in the forms SmolLM2-135M-Instruct
actually writes (restated questions, full sentences, trailing words, punctuation, case).
"""

from collections import Counter

import pytest

pytest.importorskip("torch")

from sharpsim.torch.tasks import KINDS, Task, extract_answer, make_tasks, pool_size


def test_same_seed_same_tasks_and_seeds_differ():
    assert make_tasks(30, seed=5, split="test") == make_tasks(30, seed=5, split="test")
    assert make_tasks(30, seed=5, split="test") != make_tasks(30, seed=6, split="test")
    assert all(isinstance(t, Task) and t.kind in KINDS for t in make_tasks(30, seed=5))


def test_larger_n_extends_smaller_n():
    assert make_tasks(40, seed=2, split="train")[:23] == make_tasks(23, seed=2, split="train")


@pytest.mark.parametrize("kind", KINDS)
def test_splits_partition_each_pool(kind):
    test = {
        t.prompt for t in make_tasks(pool_size(kind, "test"), seed=0, kinds=[kind], split="test")
    }
    train = {
        t.prompt for t in make_tasks(pool_size(kind, "train"), seed=9, kinds=[kind], split="train")
    }
    whole = {t.prompt for t in make_tasks(pool_size(kind), seed=3, kinds=[kind])}
    assert test.isdisjoint(train)
    assert test | train == whole
    assert abs(len(test) - len(train)) <= 1


def test_train_and_test_never_share_a_question_for_any_seeds():
    test = {t.prompt for s in range(4) for t in make_tasks(100, seed=s, split="test")}
    train = {t.prompt for s in range(4) for t in make_tasks(100, seed=s, split="train")}
    assert test.isdisjoint(train)


def test_tasks_are_distinct_and_balanced_across_kinds():
    tasks = make_tasks(47, seed=1, split="test")
    assert len({t.prompt for t in tasks}) == 47
    counts = Counter(t.kind for t in tasks)
    assert set(counts) == set(KINDS)
    assert max(counts.values()) - min(counts.values()) <= 1
    assert [t.kind for t in tasks[: len(KINDS)]] == list(KINDS)


def test_answers_are_correct():
    for t in make_tasks(200, seed=4):
        if t.kind == "arithmetic":
            a, b = (int(w) for w in t.prompt.split("?")[0].split()[-3::2])
            assert t.answer == str(a + b)
        elif t.kind == "multiplication":
            words = t.prompt.split("?")[0].split()
            assert t.answer == str(int(words[-3]) * int(words[-1]))
        elif t.kind == "comparison":
            a, b = (int(w.strip(",?")) for w in t.prompt.split()[-8:-5:2])
            assert t.answer == str(max(a, b))
        elif t.kind == "sequence":
            terms = [int(w.strip(",?")) for w in t.prompt.split(":")[1].split("?")[0].split()]
            d = terms[1] - terms[0]
            assert all(y - x == d for x, y in zip(terms, terms[1:]))
            assert t.answer == str(terms[-1] + d)
        assert extract_answer(f"The answer is {t.answer}.", t.kind) == t.answer
        assert extract_answer(t.answer, t.kind) == t.answer


@pytest.mark.parametrize(
    "text, kind, expected",
    [
        ("34 + 57 = 91", "arithmetic", "91"),
        ("12 + 7 = 9\n\nThis is", "arithmetic", "9"),
        ("The sum of 12 and 7 is 19.", "arithmetic", "19"),
        ("**19**", "arithmetic", "19"),
        (
            "To solve this problem, we need to perform the multiplication operation",
            "multiplication",
            None,
        ),
        ("7 times 8 equals 56.", "multiplication", "56"),
        ("To find 9 times 7, we can use the", "multiplication", None),
        ("16 is the answer.", "arithmetic", "16"),
        ("19 is the answer to 6 + 19", "arithmetic", "19"),
        ("42.", "arithmetic", "42"),
        ("The answer is 36.", "comparison", "36"),
        ("82 is larger than 47.", "comparison", "82"),
        ("47 is smaller than 82", "comparison", "82"),
        ("The larger number is 82", "comparison", "82"),
        ("3, 6, 9, 12, 15", "sequence", "15"),
        ("The sequence is 3, 6, 9, 12, 15.", "sequence", "15"),
        ("The next number is 15, since each term adds 3", "sequence", "15"),
        ("14 is the next number after 22.", "sequence", "14"),
        ("17, 22, 27, ", "sequence", "27"),
        ("Thursday", "calendar", "Thursday"),
        ("The day after Wednesday is Thursday.", "calendar", "Thursday"),
        ("You may want to check: June", "calendar", "June"),
        ("The next day is sunday.", "calendar", "Sunday"),
        ("Soldiers march in May.", "calendar", "May"),
        ("Monday, Tuesday, Wednesday.", "calendar", "Monday"),
        ("The capital of Kenya is Nairobi.", "capital", "Nairobi"),
        ("buenos aires!", "capital", "Buenos Aires"),
        ("Kiev", "capital", "Kyiv"),
        ("Romeo and Juliet", "capital", None),
        ("Kenya is a continent located in East Africa.", "continent", "Africa"),
        ("Peru is a continent located in South America.", "continent", "South America"),
        ("America", "continent", None),
        ("The currency of India is the Indian Rupee.", "currency", "rupee"),
        ("Japanese Yen (JPY)", "currency", "yen"),
        ("Prices are in euros.", "currency", "euro"),
        ("The opposite of hot is cold.", "antonym", "cold"),
        ("The opposite of 'begin' is 'end'.", "antonym", "end"),
        ("COLD", "antonym", "cold"),
        ("A ripe banana is a sweet fruit with a bright red color", "color", "red"),
        ("It is colored blue.", "color", "blue"),
        ("Yellow.", "color", "yellow"),
        ("", "color", None),
    ],
)
def test_extraction_on_realistic_responses(text, kind, expected):
    assert extract_answer(text, kind) == expected


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="kinds must be"):
        make_tasks(2, kinds=("poetry",))
    with pytest.raises(ValueError, match="kinds must be"):
        make_tasks(2, kinds=("capital", "capital"))
    with pytest.raises(ValueError, match="kinds must be"):
        make_tasks(2, kinds=())
    with pytest.raises(TypeError, match="kinds must be"):
        make_tasks(2, kinds="capital")
    with pytest.raises(ValueError, match="n"):
        make_tasks(0)
    with pytest.raises(TypeError, match="n"):
        make_tasks(2.5)
    with pytest.raises(ValueError, match="split must be"):
        make_tasks(2, split="validation")
    too_many = pool_size("color", "test") + 1
    with pytest.raises(ValueError, match=r"n=\d+ asks for \d+ distinct 'color' tasks"):
        make_tasks(too_many, kinds=["color"], split="test")
    make_tasks(too_many - 1, kinds=["color"], split="test")
    with pytest.raises(ValueError, match="kind must be one of"):
        extract_answer("x", "poetry")
    with pytest.raises(TypeError, match="text must be a string"):
        extract_answer(None, "capital")
