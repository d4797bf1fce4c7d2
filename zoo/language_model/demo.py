"""What `zoo demo` shows of a language model: the words it expects next, in old books' English and today's
(software documentation and messages), and which sentence it prefers."""

PROMPTS = ("The keys to the cabinet", "The authors that the critic praised", "In the beginning God",
           "The function returns a", "This option is")
PAIRS = (("The keys to the cabinet are on the table.", "The keys to the cabinet is on the table."),
         ("The file could not be opened.", "The file could not be open."))


def demo_lines(model):
    """The likeliest next words after each prompt, and the scores of a grammatical and an ungrammatical sentence."""
    lines = [f"  {prompt} → " + ", ".join(f"{w} ({p:.2f})" for w, p in model.next_words(prompt, k=5))
             for prompt in PROMPTS]
    for good, bad in PAIRS:
        scores = model.score([good, bad])
        lines += [f"  log P = {s['total']:7.2f}  {text}" for text, s in zip((good, bad), scores)]
    return "\n".join(lines)
