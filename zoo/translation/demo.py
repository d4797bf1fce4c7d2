"""What `zoo demo` shows of a translator: test-split verses it never trained on, beside the King James text."""

DEMO_VERSES = (  # (reference, Reina-Valera 1909, King James): all from chapters of the test split
    ("Genesis 19:26", "Entonces la mujer de Lot miró atrás, á espaldas de él, y se volvió estatua de sal.",
     "But his wife looked back from behind him, and she became a pillar of salt."),
    ("Matthew 11:28", "Venid á mí todos los que estáis trabajados y cargados, que yo os haré descansar.",
     "Come unto me, all ye that labour and are heavy laden, and I will give you rest."),
    ("John 4:24", "Dios es Espíritu; y los que le adoran, en espíritu y en verdad es necesario que adoren.",
     "God is a Spirit: and they that worship him must worship him in spirit and in truth."),
    ("John 10:11", "Yo soy el buen pastor: el buen pastor su vida da por las ovejas.",
     "I am the good shepherd: the good shepherd giveth his life for the sheep."),
)
DEMO_SENTENCES = tuple(spanish for _, spanish, _ in DEMO_VERSES)

# Modern everyday Spanish, outside the Bible's domain: the card shows what the model makes of it
OUT_OF_DOMAIN = (
    "¿Dónde está la biblioteca?",
    "Mañana tengo una reunión con mi jefe a las nueve.",
    "El tren llega tarde porque está lloviendo.",
)


def demo_lines(model):
    """Test-split verses, each with the model's translation and the King James text."""
    lines = []
    for (reference, spanish, king_james), translation in zip(DEMO_VERSES, model.translate(DEMO_SENTENCES)):
        lines += [f"  {reference} (test split): {spanish}", f"  → {translation}", f"    KJV: {king_james}"]
    return "\n".join(lines)
