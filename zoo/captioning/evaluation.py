"""Caption quality: corpus BLEU-4 against every reference, and how much of each caption is true of its scene."""

import numpy as np

from zoo.captioning.data import load_split
from zoo.datasets import scenes
from zoo.evaluation import Evaluation

ATTRIBUTES = ("shape", "colour", "size", "relation")  # what `attribute_accuracy` averages


class CaptioningEvaluation(Evaluation):
    """A captioner's metrics, headed by corpus `bleu`; generated scenes add `attribute_accuracy` (and more).

    >>> str(CaptioningEvaluation({"bleu": 97.5, "attribute_accuracy": 0.99572, "images": 1000}))
    'bleu 97.5000 (attribute accuracy 0.9957, 1000 images)'
    >>> str(CaptioningEvaluation({"bleu": 21.3, "images": 5000}))  # photographs: no scene to check captions against
    'bleu 21.3000 (5000 images)'
    """

    TASK = "image-captioning"

    def details(self):
        if "attribute_accuracy" not in self:
            return f"{self['images']} images"
        return f"attribute accuracy {self['attribute_accuracy']:.4f}, {self['images']} images"


def bleu(hypotheses, references):
    """sacreBLEU corpus BLEU-4 (13a tokenisation) with a variable number of references per caption.

    `references[i]` is the list of references of hypothesis `i`; sacreBLEU
    takes reference *streams*, so shorter lists are padded with `None`, which
    it leaves out.

    >>> bleu(["a small red circle"], [["a little red circle", "a small red circle"]])["bleu"]
    100.0
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"expected one list of references per caption, got {len(references)} for "
                         f"{len(hypotheses)} captions")
    if not hypotheses:
        return {"bleu": 0.0, "bleu_signature": None}
    most = max(len(refs) for refs in references)
    streams = [[refs[k] if k < len(refs) else None for refs in references] for k in range(most)]
    from sacrebleu.metrics import BLEU  # here: a recipe's --help needs no [train] extra

    metric = BLEU()
    return {"bleu": round(metric.corpus_score(list(hypotheses), streams).score, 2),
            "bleu_signature": str(metric.get_signature())}


def caption_metrics(captions, references, scene_list):
    """Metrics of `captions` against each image's `references` and `scene` (`zoo.datasets.scenes`).

    - `bleu`: corpus BLEU-4 against all references of each image;
    - `attributes`: the mean of each of `scenes.attribute_scores`' fields;
    - `attribute_accuracy`: the mean of its shape, colour, size and relation scores;
    - `exact`: the fraction of captions entirely true of their scene (`scenes.caption_is_true`);
    - `images`: how many.

    >>> image, scene, refs = scenes.generate("test", 0)
    >>> m = caption_metrics([refs[0]], [refs], [scene])
    >>> m["bleu"], m["attribute_accuracy"], m["exact"]
    (100.0, 1.0, 1.0)
    """
    if not len(captions) == len(references) == len(scene_list):
        raise ValueError("expected one list of references and one scene per caption")
    scores = [scenes.attribute_scores(caption, scene) for caption, scene in zip(captions, scene_list)]
    attributes = {field: float(np.mean([s[field] for s in scores])) if scores else 0.0 for field in scenes.SCORES}
    return {
        **bleu(captions, references),
        "attributes": attributes,
        "attribute_accuracy": float(np.mean([attributes[field] for field in ATTRIBUTES])),
        "exact": float(np.mean([scenes.caption_is_true(c, s) for c, s in zip(captions, scene_list)]))
        if scores else 0.0,
        "images": len(captions),
    }


def evaluate(model, data, beam_width=None):
    """Captions every image of `data`, in batches, and scores the captions: a `CaptioningEvaluation`.

    Generated scenes (`zoo.datasets.scenes.Scenes`, which know what each
    image holds) get all of `caption_metrics`; other captioned images
    (`zoo.datasets.coco.Captions`) BLEU-4 and the image count.
    """
    captions = model.caption(data.images, beam_width=beam_width)
    if hasattr(data, "scenes"):
        metrics = caption_metrics(captions, data.captions, data.scenes)
    else:
        metrics = {**bleu(captions, data.captions), "images": len(captions)}
    return CaptioningEvaluation({**metrics, "beam_width": model.beam_width if beam_width is None else beam_width})


def evaluate_split(model, split="test"):
    """`evaluate` on a split of the dataset the model card names (as many images as the card says were scored)."""
    return evaluate(model, load_split(model.card["dataset"], split, model.image_size))
