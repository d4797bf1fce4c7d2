"""Translation quality with sacreBLEU: BLEU and chrF of detokenised output against raw references."""

from sacrebleu.metrics import BLEU, CHRF

from zoo.datasets import bible
from zoo.datasets.parallel import from_tfds, read_pairs_file

LONG_SOURCE_WORDS = 40  # results are also reported on the sources up to this many words


def translation_metrics(hypotheses, references):
    """Corpus BLEU and chrF (sacreBLEU's defaults: 13a tokenisation, mixed case).

    >>> m = translation_metrics(["And God said, Let there be light."], ["And God said, Let there be light."])
    >>> m["bleu"], m["chrf"], m["sentences"]
    (100.0, 100.0, 1)
    """
    bleu, chrf = BLEU(), CHRF()
    return {"bleu": round(bleu.corpus_score(hypotheses, [references]).score, 2),
            "chrf": round(chrf.corpus_score(hypotheses, [references]).score, 2), "sentences": len(hypotheses),
            "bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature())}

LENGTH_PENALTIES = (0.0, 0.3, 0.6, 1.0)  # what the recipe tries on validation


def evaluate(model, data, beam_width=None):
    """Metrics on all pairs of `data` and on those with at most `LONG_SOURCE_WORDS` source words."""
    hypotheses = model.translate(data.sources, beam_width=beam_width)
    short = [i for i, s in enumerate(data.sources) if len(s.split()) <= LONG_SOURCE_WORDS]
    return {
        **translation_metrics(hypotheses, data.targets),
        f"up_to_{LONG_SOURCE_WORDS}_words": translation_metrics([hypotheses[i] for i in short],
                                                                 [data.targets[i] for i in short]),
        "beam_width": model.beam_width if beam_width is None else beam_width,
    }


def choose_length_penalty(model, data, candidates=LENGTH_PENALTIES):
    """`(best, {candidate: BLEU})`: the beam search length penalty with the best BLEU on `data` (validation).

    Beam search ranks finished hypotheses by log-probability / length ** penalty;
    0 favours short translations, 1 is neutral per token. The best value
    depends on the model, so it is chosen on held-out data, never on test.
    """
    bleus = {penalty: evaluate(model.reconfigured(length_penalty=penalty), data)["bleu"] for penalty in candidates}
    return max(bleus, key=bleus.get), bleus


def load_split(dataset, split):
    """A split of the data a model card names: the Bible pairs, a TFDS dataset or the user's TSV file."""
    if dataset["name"] == bible.NAME:
        return bible.load(split)
    if "tfds" in dataset:
        return from_tfds(dataset["tfds"], split)
    files = dataset["files"]
    return read_pairs_file(files[split]) if split in files else read_pairs_file(files["all"], split)


def evaluate_on(model, dataset, split="test"):
    return evaluate(model, load_split(dataset, split))


DEMO_SENTENCES = (  # from chapters held out of training, and Genesis 1:1 in today's spelling ("creó", not "crió")
    "En el principio creó Dios los cielos y la tierra.",
    "Y dijo Dios: Sea la luz: y fué la luz.",  # Genesis 1:3 (validation)
    "Para todas las cosas hay sazón, y todo lo que se quiere debajo del cielo, tiene su tiempo:",  # Ecclesiastes 3:1
    "Me levantaré, é iré á mi padre, y le diré: Padre, he pecado contra el cielo, y contra ti;",  # Luke 15:18
)


def demo_lines(model):
    """Well-known verses the model never trained on, with their translations."""
    return "\n".join(f"  {source}\n  → {target}" for source, target in zip(DEMO_SENTENCES,
                                                                            model.translate(DEMO_SENTENCES)))
