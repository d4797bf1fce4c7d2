"""Byte-pair encoding (Sennrich et al., 2016) learned with Hugging Face `tokenizers`, applied in the graph.

A word the vocabulary never saw is still written: it is split into known
pieces (in the worst case single characters), so no source word can vanish
and a name can be copied piece by piece. Merges are learned on the
training split by `learn` (Hugging Face's BPE trainer, a training-time
dependency); `SubwordEncoder` applies them with core TensorFlow ops only,
because the stock TF Serving image has no tensorflow-text.

A word starts as its characters, the last one marked as the end of the word
(`"luz"` → `l u z</w>`); then, again and again, the adjacent pair whose merge
was learned first is merged, until no learned pair is left. That is what
Hugging Face's BPE model does (`tests/test_translation_subwords.py` checks
both agree). Pieces join back into words by concatenation, `</w>` marking
the spaces.

>>> import tensorflow as tf
>>> encoder = SubwordEncoder(["l u", "lu z</w>"])
>>> [p.decode() for p in encoder.split_words(tf.constant(["luz", "ul"])).flat_values.numpy()]
['luz</w>', 'u', 'l</w>']
>>> join_pieces(tf.constant([["l", "uz</w>", "y</w>", ""]])).numpy()[0].decode()
'luz y'
"""

import json

import keras
import tensorflow as tf

END_OF_WORD = "</w>"
CONTINUED = "@@"  # how a piece inside a word is shown to people: "Abr@@ am" (subword-nmt's convention)


def learn(token_rows, vocabulary_size, min_frequency=2):
    """`(pieces, merges)` of a BPE model learned on pre-tokenised text.

    Args:
        token_rows: lists of tokens (`zoo.translation.text.tokenize`'s), both
            languages for a joint vocabulary.
        vocabulary_size: pieces to end with, single characters included.
        min_frequency: a pair seen fewer times is never merged.

    Returns:
        `pieces`, most frequent first after the characters, and `merges`,
        `"left right"` strings in the order they were learned.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(end_of_word_suffix=END_OF_WORD))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(vocab_size=vocabulary_size, min_frequency=min_frequency,
                                  end_of_word_suffix=END_OF_WORD, show_progress=False)
    tokenizer.train_from_iterator((" ".join(row) for row in token_rows), trainer)
    model = json.loads(tokenizer.to_str())["model"]
    pieces = sorted(model["vocab"], key=model["vocab"].get)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return pieces, merges


@keras.saving.register_keras_serializable(package="zoo")
class SubwordEncoder(keras.layers.Layer):
    """Splits words into BPE pieces with a merge table, in the graph.

    Args:
        merges: `"left right"` pairs in the order they were learned (`learn`).

    Example:

    >>> import tensorflow as tf
    >>> encoder = SubwordEncoder(["a b", "ab c</w>", "a b</w>"])
    >>> encoder(tf.ragged.constant([["abc", "cab"]])).to_list()
    [[[b'abc</w>'], [b'c', b'ab</w>']]]
    """

    def __init__(self, merges, **kwargs):
        super().__init__(**kwargs)
        self.merges = [str(m) for m in merges]
        # rank + 1 of each learned pair; 0 for a pair never learned
        self.merge_ranks = keras.layers.StringLookup(vocabulary=self.merges or ["\0"], mask_token=None,
                                                     num_oov_indices=1, name="merge_ranks")

    def call(self, tokens):
        """Tokens `RaggedTensor [B, None]` → their pieces `RaggedTensor [B, None, None]`."""
        words, which = tf.unique(tokens.flat_values)
        pieces = tf.gather(self.split_words(words), which)
        return tokens.with_flat_values(pieces)

    def split_words(self, words):
        """Words `string [W]` (each non-empty) → their pieces, `RaggedTensor [W, None]`."""
        characters = tf.strings.unicode_split(words, "UTF-8")
        last = tf.cast(characters.row_lengths() - 1, tf.int32)
        symbols = characters.to_tensor("")
        is_last = tf.range(tf.shape(symbols)[1])[None, :] == last[:, None]
        symbols = tf.where(is_last, tf.strings.join([symbols, END_OF_WORD]), symbols)
        symbols = tf.while_loop(lambda s: tf.reduce_any(self._best_pair(s)[1]), self._merge_best_pair, [symbols],
                                shape_invariants=[tf.TensorShape([None, None])],
                                maximum_iterations=tf.shape(symbols)[1])[0]
        return tf.RaggedTensor.from_tensor(symbols, padding="")

    def _best_pair(self, symbols):
        """Per word, the position of its first-learned mergeable pair, and whether it has one."""
        left, right = symbols[:, :-1], symbols[:, 1:]
        ranks = self.merge_ranks(tf.strings.join([left, right], separator=" "))
        ranks = tf.where((ranks > 0) & (right != ""), ranks, tf.int64.max)
        never = tf.fill([tf.shape(ranks)[0], 1], tf.int64.max)  # so that a one-symbol word has a column too
        ranks = tf.concat([ranks, never], axis=1)
        return tf.argmin(ranks, axis=1, output_type=tf.int32), tf.reduce_min(ranks, axis=1) < tf.int64.max

    def _merge_best_pair(self, symbols):
        position, merges = self._best_pair(symbols)
        position = tf.where(merges, position, tf.shape(symbols)[1])  # no merge: a position past the end
        columns = tf.range(tf.shape(symbols)[1])[None, :]
        padded = tf.pad(symbols, [[0, 0], [0, 1]])
        shifted = tf.gather(padded, columns + tf.cast(columns > position[:, None], tf.int32), batch_dims=1)
        merged = tf.strings.join([symbols, padded[:, 1:]])
        return [tf.where(columns == position[:, None], merged, shifted)]

    def get_config(self):
        return {**super().get_config(), "merges": self.merges}


def join_pieces(pieces):
    """Pieces `string [B, N]` (`""` padded) → their words joined by single spaces, `string [B]`."""
    joined = tf.strings.reduce_join(pieces, axis=-1)
    return tf.strings.strip(tf.strings.regex_replace(joined, END_OF_WORD, " "))


def readable(pieces):
    """Pieces as people read them: `"am</w>"` → `"am"`, a piece inside a word `"Abr"` → `"Abr@@"`."""
    ends = tf.strings.regex_full_match(pieces, ".*" + END_OF_WORD)
    core = tf.strings.regex_replace(pieces, END_OF_WORD + "$", "")
    return tf.where(ends | (pieces == ""), core, tf.strings.join([core, CONTINUED]))
