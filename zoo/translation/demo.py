"""What `zoo demo` shows of a translator: well-known verses it never trained on, translated."""

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
