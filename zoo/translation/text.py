"""Tokenisation and detokenisation inside the graph, with core `tf.strings` ops only.

Tokens are runs of letters, digits and in-word apostrophes (`Jacob's`
stays whole); every other non-space character (`,` `;` `:` `.` `?` `!`
`(` `)` `-`, quotes and apostrophes at a word's edge) is a token of its own,
kept as written (`zoo.translation.subwords` splits tokens into pieces).
The writing side capitalises the first letter of the sentence (unless its
source starts with a small letter, as software messages often do) and glues
punctuation to its neighbours as English prints it: no space before `, ; : . ? ! )` or a
word-final apostrophe (`Moses’`), none after `( ¿ ¡`, none around a
hyphen between letters (`Beer-sheba`).

>>> import tensorflow as tf
>>> [t.decode() for t in tokenize(tf.constant(["Y dijo Dios: Sea la luz; y fué la luz."]))[0].numpy()]
['Y', 'dijo', 'Dios', ':', 'Sea', 'la', 'luz', ';', 'y', 'fué', 'la', 'luz', '.']
>>> detokenize(tf.constant(["and God said , let there be light :"])).numpy()[0].decode()
'And God said, let there be light:'
"""

import tensorflow as tf

_NO_SPACE_BEFORE = r" ([,;:.?!)\]])"
_NO_SPACE_AFTER = r"([(\[¿¡]) "
_CLOSING_APOSTROPHE = r" (['’])(\s|$)"  # "Moses’ law": a possessive after -s (the KJV has no quotation marks)
_HYPHEN = r"(\pL) - (\pL)"  # "Beer-sheba"


def tokenize(texts):
    """Raw sentences `string [B]` → tokens as written, `RaggedTensor [B, None]`."""
    spaced = tf.strings.regex_replace(texts, r"([^\p{L}\p{N}\s'’])", r" \1 ")
    spaced = tf.strings.regex_replace(spaced, r"(^|\s)(['’]+)|(['’]+)(\s|$)", r" \2\3 ")
    return tf.strings.split(tf.strings.strip(spaced))


def capitalize_first(texts):
    """Upper-cases the first character of each string (UTF-8 aware)."""
    first = tf.strings.substr(texts, 0, 1, unit="UTF8_CHAR")
    rest = tf.strings.substr(texts, tf.strings.length(first), tf.strings.length(texts) - tf.strings.length(first))
    return tf.strings.join([tf.strings.upper(first, encoding="utf-8"), rest])


def capitalized(sources):
    """Whether each translation of `sources` `string [B]` starts with a capital: unless the source's first
    letter is a small one ("no se puede abrir" → "cannot open")."""
    return tf.logical_not(tf.strings.regex_full_match(sources, r"[^\pL]*\p{Ll}(?s:.*)"))


def detokenize(tokens, capitalize=True):
    """Tokens joined by spaces `string [B]` → readable sentences `string [B]`, the first letter capitalised
    where `capitalize` (`bool`, or `bool [B]`) is true."""
    joined = tf.strings.strip(tf.strings.regex_replace(tokens, " +", " "))
    joined = tf.strings.regex_replace(joined, _NO_SPACE_BEFORE, r"\1")
    joined = tf.strings.regex_replace(joined, _NO_SPACE_AFTER, r"\1")
    joined = tf.strings.regex_replace(joined, _CLOSING_APOSTROPHE, r"\1\2")
    joined = tf.strings.regex_replace(joined, _HYPHEN, r"\1-\2")
    return tf.where(capitalize, capitalize_first(joined), joined)
