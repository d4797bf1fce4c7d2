"""What `zoo demo` shows of a translator: test-split verses and messages of test-split software packages it
never trained on, beside their English originals."""

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
DEMO_MESSAGES = (  # (source package, Spanish, English original): packages of the software messages' test split
    ("util-linux", "No se tiene en cuenta la partición extendida adicional %zu",
     "Ignoring extra extended partition %zu"),
    ("subversion", "Caracter inválido '%c' encontrado en la lista de revisiones",
     "Invalid character '%c' found in revision list"),
    ("gitg", "Crear una etiqueta nueva en el «commit» seleccionado", "Create a new tag at the selected commit"),
    ("okular", "Introduzca la contraseña del certificado", "Enter certificate password"),
)
DEMO_SENTENCES = tuple(spanish for _, spanish, _ in DEMO_VERSES)

# Modern everyday Spanish, outside the Bible's domain: the card shows what the model makes of it
OUT_OF_DOMAIN = (
    "¿Dónde está la biblioteca?",
    "Mañana tengo una reunión con mi jefe a las nueve.",
    "El tren llega tarde porque está lloviendo.",
)


def demo_lines(model):
    """Test-split verses and software messages, each with the model's translation and the English original."""
    lines = []
    for (reference, spanish, king_james), translation in zip(DEMO_VERSES, model.translate(DEMO_SENTENCES)):
        lines += [f"  {reference} (test split): {spanish}", f"  → {translation}", f"    KJV: {king_james}"]
    messages = model.translate([spanish for _, spanish, _ in DEMO_MESSAGES])
    for (package, spanish, english), translation in zip(DEMO_MESSAGES, messages):
        lines += [f"  {package} (test split): {spanish}", f"  → {translation}", f"    original: {english}"]
    return "\n".join(lines)
