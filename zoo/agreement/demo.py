"""What `zoo demo` prints for an agreement classifier: the seed note's sentences, cut before their verbs."""

SEED_PREFIXES = (  # the seed note's sentences, cut before their verbs
    ("The book", "singular"),
    ("The books", "plural"),
    ("The book that I got yesterday", "singular"),
    ("The books read by the second-grade children", "plural"),
)


def demo_lines(model):
    """The seed note's four sentences, cut before their verbs (no data needed)."""
    result = model.predict_number([text for text, _ in SEED_PREFIXES])
    return "\n".join(
        f"  {text + ' ...':<48} {label:<8} p={scores.max():.3f}  {'ok' if label == expected else 'WRONG'}"
        for (text, expected), label, scores in zip(SEED_PREFIXES, result.labels, result.scores))
