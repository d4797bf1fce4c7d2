"""Every model's Python API refuses input of the wrong kind with a ValueError naming the argument passed,
never a TypeError from deep inside, and never by iterating what is not a list (a dict, a set, None)."""

import numpy as np
import pytest
from captioning_toys import make_tiny_captioner
from fixtures.sensor import make_tiny
from fixtures.tagging import make_tiny_tagger
from fixtures.translation import make_tiny_translator

from zoo.agreement import AgreementClassifier


@pytest.fixture(scope="module")
def models():
    return {
        "tagger": make_tiny_tagger(),
        "translator": make_tiny_translator(),
        "captioner": make_tiny_captioner(),
        "sensor": make_tiny(),
        "agreement": AgreementClassifier(["the", "book"], ["ook"], hidden=4, word_dim=4),
    }


NOT_A_LIST = [None, 5, 2.5, {"a": "The book."}, {"The book."}, object()]
CALLS = [
    ("tagger", "tag", "sentences"),
    ("tagger", "tag_tokens", "sentences"),
    ("translator", "translate", "sentences"),
    ("captioner", "caption", "images"),
    ("sensor", "classify", "series"),
    ("agreement", "predict_number", "sentences"),
    ("agreement", "predict_tokens", "prefixes"),
]


@pytest.mark.parametrize("model, method, argument", CALLS)
@pytest.mark.parametrize("bad", NOT_A_LIST, ids=lambda bad: type(bad).__name__)
def test_a_value_that_is_no_list_is_refused_naming_the_argument(models, model, method, argument, bad):
    with pytest.raises(ValueError, match=rf"^{argument}: got {type(bad).__name__}; expected") as refused:
        getattr(models[model], method)(bad)
    assert "Traceback" not in str(refused.value)


@pytest.mark.parametrize("model, method, argument, bad", [
    ("tagger", "tag", "sentences", [None]),
    ("tagger", "tag", "sentences", ["fine", 3]),
    ("tagger", "tag_tokens", "sentences", [None]),
    ("tagger", "tag_tokens", "sentences", [["a", None]]),
    ("tagger", "tag_tokens", "sentences", ["a b"]),
    ("translator", "translate", "sentences", [b"\xff"]),
    ("translator", "translate", "sentences", ["\ud800"]),
    ("captioner", "caption", "images", [None]),
    ("sensor", "classify", "series", [np.zeros((4, 3)), None]),
    ("agreement", "predict_tokens", "prefixes", [[]]),
])
def test_a_bad_element_is_refused_naming_it(models, model, method, argument, bad):
    with pytest.raises(ValueError, match=rf"^{argument}(\[\d+\])?: ") as refused:
        getattr(models[model], method)(bad)
    assert "expected" in str(refused.value)


@pytest.mark.parametrize("model, method, answer_size", [
    ("tagger", "tag", 0), ("translator", "translate", 0), ("captioner", "caption", 0)])
def test_an_empty_list_is_an_empty_answer(models, model, method, answer_size):
    assert len(getattr(models[model], method)([])) == answer_size
