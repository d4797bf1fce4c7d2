"""zoo.tagging.evaluation and zoo.tagging.demo: the tagger's Evaluation, evaluate and evaluate_split."""

import zoo
from zoo.datasets import tagged
from zoo.evaluation import Evaluation
from zoo.tagging import demo, evaluation


def _sentences(pairs):
    return tagged.TaggedSentences.from_pairs("toy", "test", pairs)


def test_evaluate_is_a_tagging_evaluation(trained_tagger, toy_corpus):
    model = trained_tagger.model
    train, test = _sentences(toy_corpus(20)), _sentences(toy_corpus(10, offset=100))
    result = evaluation.evaluate(model, test, train)
    assert isinstance(result, evaluation.TaggingEvaluation) and result.TASK == model.TASK == "pos-tagging"
    predicted = [[tag for _, tag in row] for row in model.tag_tokens(test.words)]
    known = {w for words in train.words for w in words}
    assert result == evaluation.tagging_metrics(test.words, test.tags, predicted, known, model.tag_names)
    assert result.headline == result["accuracy"] and result["examples"] == test.num_tokens
    assert str(result) == f"accuracy {result['accuracy']:.4f} ({result['errors']} errors of {test.num_tokens})"
    assert isinstance(Evaluation.of_card({"task": "pos-tagging", "test_metrics": dict(result)}),
                      evaluation.TaggingEvaluation)


def test_evaluate_split_reads_the_cards_dataset(trained_tagger, toy_corpus, tmp_path):
    path = tmp_path / "toy.txt"
    path.write_text("".join(" ".join(f"{w}/{t}" for w, t in zip(*s)) + "\n" for s in toy_corpus(40)), "utf-8")
    model = zoo.load(trained_tagger.version_dir)
    model.card = {**model.card, "dataset": {"name": "toy", "source": "user files", "files": {"all": str(path)},
                                            "split": tagged.SPLIT_RULE}}
    got = model.evaluate_split("test")
    split = {s: _sentences(tagged.split_sentences(toy_corpus(40), s)) for s in ("train", "test")}
    assert got == evaluation.evaluate(model, split["test"], split["train"])
    assert got["examples"] == split["test"].num_tokens


def test_demo_tags_the_demo_sentences(trained_tagger):
    lines = trained_tagger.model.demo().splitlines()
    assert len(lines) == len(demo.DEMO_SENTENCES)
    assert lines[0].startswith("  The/") and all("/" in token for token in lines[0].split())
