"""What `zoo demo` prints for a tagger: a few sentences, tagged (no data needed)."""

DEMO_SENTENCES = (
    "The book that I got yesterday is on the table.",
    "The books read by the second-grade children are on the table.",
    "Don't stop: the committee's report, due at 9:30 p.m., costs $1,000.",
    "Colorless green ideas sleep furiously.",
)


def demo_lines(model):
    """Tags the seed's agreement examples and a few harder sentences (no data needed)."""
    return "\n".join("  " + " ".join(f"{token}/{tag}" for token, tag in sentence)
                     for sentence in model.tag(list(DEMO_SENTENCES)))
