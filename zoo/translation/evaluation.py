"""Translation quality with sacreBLEU: BLEU and chrF of detokenised output against raw references, and how
many names come through."""

import collections
import re

from zoo.evaluation import Evaluation
from zoo.translation import verbatim
from zoo.translation.data import load_split
from zoo.translation.signatures import translations_by_length_penalty

LONG_SOURCE_WORDS = 40  # results are also reported on the sources up to this many words
LENGTH_PENALTIES = (0.0, 0.3, 0.6, 1.0)  # what the recipe tries on validation


class TranslationEvaluation(Evaluation):
    """A translator's metrics, headed by corpus `bleu`, with `chrf` and the number of `sentences`.

    >>> print(TranslationEvaluation({"bleu": 32.07, "chrf": 52.82, "sentences": 1483}))
    bleu 32.0700 (chrF 52.82, 1483 sentences)
    """

    TASK = "translation"

    def details(self):
        return f"chrF {self['chrf']:.2f}, {self['sentences']} sentences"


def translation_metrics(hypotheses, references):
    """Corpus BLEU and chrF (sacreBLEU's defaults: 13a tokenisation, mixed case).

    >>> m = translation_metrics(["And God said, Let there be light."], ["And God said, Let there be light."])
    >>> m["bleu"], m["chrf"], m["sentences"]
    (100.0, 100.0, 1)
    """
    from sacrebleu.metrics import BLEU, CHRF  # here: a recipe's --help needs no [train] extra

    bleu, chrf = BLEU(), CHRF()
    return {"bleu": round(bleu.corpus_score(hypotheses, [references]).score, 2),
            "chrf": round(chrf.corpus_score(hypotheses, [references]).score, 2), "sentences": len(hypotheses),
            "bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature())}


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def names_kept(hypotheses, references):
    """`{"kept", "of", "share"}`: of the capitalised words of each reference other than its first word
    (names, and the KJV's "LORD" and "God"), how many its translation holds, counting repeats.

    >>> names_kept(["And Abram went to Haran."], ["And Abram went unto Haran, and Lot with him."])
    {'kept': 2, 'of': 3, 'share': 0.6667}
    """
    kept = total = 0
    for hypothesis, reference in zip(hypotheses, references):
        wanted = collections.Counter(w for w in _WORD.findall(reference)[1:] if w[0].isupper())
        written = collections.Counter(_WORD.findall(hypothesis))
        kept += sum(min(n, written[w]) for w, n in wanted.items())
        total += sum(wanted.values())
    return {"kept": kept, "of": total, "share": round(kept / total, 4) if total else None}


def evaluate(model, data, beam_width=None):
    """`TranslationEvaluation` of `model` on all pairs of `data` (`zoo.datasets.parallel.ParallelText`), with
    `names_kept`, `verbatim_kept` (`zoo.translation.verbatim.kept`), under `up_to_40_words` on those with at
    most `LONG_SOURCE_WORDS` source words, and under `by_part` each joined dataset's own (`data.parts`)."""
    hypotheses = model.translate(data.sources, beam_width=beam_width)
    metrics = _metrics(data.sources, data.targets, hypotheses)
    if len(data.parts) > 1:
        metrics["by_part"] = {name: _metrics(data.sources[start:stop], data.targets[start:stop],
                                             hypotheses[start:stop]) for name, (start, stop) in data.parts.items()}
    return TranslationEvaluation({**metrics, "beam_width": model.beam_width if beam_width is None else beam_width})


def _metrics(sources, references, hypotheses):
    short = [i for i, s in enumerate(sources) if len(s.split()) <= LONG_SOURCE_WORDS]
    return {
        **translation_metrics(hypotheses, references),
        "names_kept": names_kept(hypotheses, references),
        "verbatim_kept": verbatim.kept(sources, references, hypotheses),
        f"up_to_{LONG_SOURCE_WORDS}_words": translation_metrics([hypotheses[i] for i in short],
                                                                 [references[i] for i in short]),
    }


def evaluate_split(model, split="test"):
    """`evaluate` on a split of the dataset the model's card names."""
    return evaluate(model, load_split(model.card["dataset"], split))


def choose_length_penalty(model, data, candidates=LENGTH_PENALTIES):
    """`(best, {candidate: BLEU})`: the beam search length penalty with the best BLEU on `data` (validation).

    Beam search ranks finished hypotheses by log-probability / length ** penalty;
    0 favours short translations, 1 is neutral per token. The best value
    depends on the model, so it is chosen on held-out data, never on test. One
    beam search serves every candidate: the penalty only ranks its final beams.
    """
    translations = translations_by_length_penalty(model, data.sources, candidates)
    bleus = {penalty: translation_metrics(hypotheses, data.targets)["bleu"]
             for penalty, hypotheses in translations.items()}
    return max(bleus, key=bleus.get), bleus
