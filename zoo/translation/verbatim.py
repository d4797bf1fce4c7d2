r"""What a translation copies as written: placeholders, options, paths, numbers, addresses, markup.

Software text is full of spans no translator may touch: `%s`, `{0}`,
`--verbose`, `/etc/fstab`, `3.14`, `https://...`, `<b>`. Learned piece by
piece they come out garbled, so a verbatim model never sees them: `protect`
replaces each distinct span of a sentence by a slot, a private-use
character (U+E000, U+E001, ...) that the tokenizer keeps as one token and the
subword vocabulary as one piece, and remembers the span; the network learns
to place the slots; `restore` writes the remembered spans back into the
decoded pieces. The same span twice in a sentence is one slot; spans past
the last slot are left in the text. Training targets are masked with the
source's slots (`protect_like`), so a span the translation keeps is a slot on
both sides. Core `tf.strings` ops only (TF Serving runs it unchanged).

>>> import tensorflow as tf
>>> masked, spans = protect(tf.constant(["usa --verbose con %s y %s en /tmp"]))
>>> masked.numpy()[0].decode().encode("unicode_escape").decode()
'usa \\ue000 con \\ue001 y \\ue001 en \\ue002'
>>> [s.decode() for s in spans.numpy()[0][:4]]
['--verbose', '%s', '/tmp', '']
>>> protect_like(tf.constant(["use %s with --verbose"]), spans).numpy()[0].decode().encode("unicode_escape").decode()
'use \\ue001 with \\ue000'
>>> sorted(spans_of("copy 2 files to ~/backup with -r (see %1$s)"))
['%1$s', '-r', '2', '~/backup']
"""

import re

import tensorflow as tf

from zoo.translation.subwords import END_OF_WORD

SLOTS = 10
FIRST_SLOT = 0xE000  # Unicode's private use area: never in real text
SLOT_PIECES = tuple(chr(FIRST_SLOT + k) for k in range(SLOTS))
SLOT_WORDS = tuple(f"{slot}{END_OF_WORD}" for slot in SLOT_PIECES)  # each slot as the one piece of its word

# spans that start a word (after a space, a bracket, a quote or "="), and end before a letter or digit
_AFTER_WORD_START = (r"--?[A-Za-z][A-Za-z0-9-]*"  # options
                     r"|~?(?:/[A-Za-z0-9._+-]*[A-Za-z0-9_+-])+/?|\.\.?/[A-Za-z0-9._/+-]+"  # paths
                     r"|[0-9]+(?:[.,:][0-9]+)*")  # numbers, versions, times
# spans anywhere
_ANYWHERE = (r"[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\"']*[^\s<>\"'.,;:!?)]"  # URLs
             r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"  # e-mail addresses
             r"|%(?:[0-9]+\$)?[-+#0']*(?:\*|[0-9]+)?(?:\.(?:\*|[0-9]+))?(?:hh|h|ll|l|L|q|j|z|t)?[diouxXeEfFgGcspaA]"
             r"|%\([A-Za-z_]+\)[a-z]|\{[A-Za-z0-9_]*\}|%[A-Z][A-Z_]+|%[0-9]+|\$\([A-Za-z0-9_]+\)"  # placeholders
             r"|\$[A-Za-z_][A-Za-z0-9_]*"  # variables
             r"|</?[A-Za-z][A-Za-z0-9]*/?>|&[A-Za-z]+;|&#[0-9]+;")  # markup tags and entities
# RE2 (TensorFlow) has no look-around: the character before and after a word-start span are matched and
# written back; group 2 or 4 is the span
_WORD_START_SPAN = rf"(^|[\s(\[\"'“«¿¡=])({_AFTER_WORD_START})([^A-Za-z0-9_]|$)"
SPAN = rf"{_WORD_START_SPAN}|({_ANYWHERE})"
_MARK = "\x01"  # set before a span while the sentence is cut into words
_SPAN = re.compile(SPAN)


def spans_of(text):
    """The verbatim spans of a sentence, in order (Python's `re`, same pattern as the graph's).

    >>> spans_of("Error 404: --help para <b>más</b>")
    ['404', '--help', '<b>', '</b>']
    """
    found, position = [], 0
    while (match := _SPAN.search(text, position)) is not None:
        found.append(match.group(2) or match.group(4))
        position = match.end(2) if match.group(2) else match.end(4)
    return found


def _words(texts):
    """Sentences `string [B]` → their words `RaggedTensor [B, None]`, each span a word of its own marked
    with `_MARK`; the spans (marker removed) are returned with a mask of which words are spans."""
    marked = tf.strings.regex_replace(texts, SPAN, rf"\1 {_MARK}\2\4 \3")
    # again for word-start spans right after another (its trailing character was their leading one)
    marked = tf.strings.regex_replace(marked, _WORD_START_SPAN, rf"\1 {_MARK}\2 \3")
    words = tf.strings.split(marked)
    is_span = tf.strings.regex_full_match(words.flat_values, f"{_MARK}.+")
    plain = tf.strings.regex_replace(words.flat_values, f"^{_MARK}", "")
    return words.with_flat_values(plain), is_span


def _slot_characters(slots):
    return tf.strings.unicode_encode(tf.cast(slots[:, None], tf.int32) + FIRST_SLOT, "UTF-8")


def protect(texts):
    """Sentences `string [B]` → `(masked string [B], spans string [B, SLOTS])`: each distinct span replaced by
    its slot character, and the span of every slot (`""` for slots not used). Linear in the words: a sentence of
    thousands of spans costs what its length does."""
    words, is_span = _words(texts)
    spans = tf.ragged.boolean_mask(words, words.with_flat_values(is_span))
    rows = spans.value_rowids()
    # one id per distinct (sentence, span), numbered in order of first appearance: rows come one after another,
    # so a sentence's spans get consecutive ids and its slots are the ids less its first one
    _, ids = tf.unique(tf.strings.join([tf.strings.as_string(rows), spans.flat_values], separator="\0"))
    slot = ids - tf.gather(tf.math.unsorted_segment_min(ids, rows, spans.nrows()), rows)
    occurrence = tf.range(tf.size(ids))
    first = tf.math.unsorted_segment_min(occurrence, ids, tf.reduce_max(tf.concat([ids, [-1]], 0)) + 1)
    distinct = tf.ragged.boolean_mask(spans, spans.with_flat_values(occurrence == tf.gather(first, ids)))
    span_at = tf.where(is_span)
    flat = words.flat_values
    replacement = tf.where(slot < SLOTS, _slot_characters(tf.minimum(slot, SLOTS - 1)), spans.flat_values)
    flat = tf.tensor_scatter_nd_update(flat, span_at, replacement)
    masked = tf.strings.reduce_join(words.with_flat_values(flat), axis=1, separator=" ")
    return masked, distinct.to_tensor("", shape=[None, SLOTS])


def protect_like(texts, spans):
    """Sentences `string [B]` (translations) → masked with the slots of `spans` (`protect`'s, one row each):
    a span written as one of the row's is replaced by its slot; other text is left as it is."""
    words, is_span = _words(texts)
    flat = words.flat_values
    candidates = tf.gather(spans, words.value_rowids())  # [N, SLOTS]: the spans of each word's sentence
    same = (flat[:, None] == candidates) & (candidates != "") & is_span[:, None]
    slot = tf.argmax(tf.cast(same, tf.int32), axis=1, output_type=tf.int32)
    flat = tf.where(tf.reduce_any(same, axis=1), _slot_characters(slot), flat)
    return tf.strings.reduce_join(words.with_flat_values(flat), axis=1, separator=" ")


def restore(pieces, spans):
    """Subword pieces `string [B, T]` → the same with every slot piece (`"\\ue000</w>"`) replaced by the span it
    stands for in its row of `spans` (`[B, SLOTS]`), end-of-word mark kept."""
    same = pieces[:, :, None] == tf.constant(SLOT_WORDS)
    slot = tf.argmax(tf.cast(same, tf.int32), axis=2, output_type=tf.int32)
    written = tf.strings.join([tf.gather(spans, slot, batch_dims=1), END_OF_WORD])
    return tf.where(tf.reduce_any(same, axis=2), written, pieces)


def kept(sources, references, hypotheses):
    """`{"kept", "of", "share"}`: of the sentences whose source has verbatim spans that its reference keeps,
    how many translations keep all of them (as often as the source and reference both have them).

    >>> kept(["usa --all"], ["use --all"], ["use --all"])
    {'kept': 1, 'of': 1, 'share': 1.0}
    """
    from collections import Counter

    total = hits = 0
    for source, reference, hypothesis in zip(sources, references, hypotheses):
        wanted = Counter(spans_of(source)) & Counter(spans_of(reference))
        if wanted:
            total += 1
            hits += not (wanted - Counter(spans_of(hypothesis)))
    return {"kept": hits, "of": total, "share": round(hits / total, 4) if total else None}
