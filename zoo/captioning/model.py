"""`Captioner`: a CNN reads the image, an RNN writes its caption (one-to-many)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from os import PathLike

import keras
import tensorflow as tf

from zoo.base import ZooModel
from zoo.captioning import signatures
from zoo.captioning.config import CaptionerConfig
from zoo.decoding import BOS, BOS_ID, EOS, MAX_BEAM_WIDTH, OOV_ID, PAD_ID, output_embedding_initializer
from zoo.layers import make_rnn
from zoo.layers.attention import Attention
from zoo.layers.output import similarity_logits


def grid_coordinates(rows, columns):
    """The centre `(x, y)` of every cell of a `rows` × `columns` grid, row by row, scaled to [-1, 1]: `[P, 2]`.

    >>> grid_coordinates(2, 2).numpy().tolist()
    [[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]]
    """
    x = (tf.range(columns, dtype=tf.float32) + 0.5) / columns * 2.0 - 1.0
    y = (tf.range(rows, dtype=tf.float32) + 0.5) / rows * 2.0 - 1.0
    grid_x, grid_y = tf.meshgrid(x, y)
    return tf.reshape(tf.stack([grid_x, grid_y], axis=-1), [rows * columns, 2])


@keras.saving.register_keras_serializable(package="zoo")
class Captioner(ZooModel):
    """Describes images in words: a CNN encoder turns the image into a grid of features, an RNN decoder
    writes the caption one word at a time.

    The encoder is a from-scratch CNN (`filters`: one block per entry, each
    two 3×3 convolutions with ReLU, optionally batch-normalised, then 2×2 max
    pooling), so a 64×64 image with three blocks becomes an 8×8 grid: 64
    positions of `filters[-1]` features. With `backbone="mobilenet_v3_small"`
    a `keras.applications.MobileNetV3Small` (stride 32; `backbone_weights=
    "imagenet"` downloads Keras' ImageNet weights once) replaces it, for
    larger photographs such as COCO's (`image_size=224` gives a 7×7 grid).

    Two decoders:

    - `decoder="attention"`, Show, Attend and Tell (Xu et al., 2015): every
      grid position becomes a key (a linear map of its features plus a
      learned embedding of the position, followed by the cell's fixed
      coordinates x, y in [-1, 1], so the decoder knows *where* it looks: the
      context's last two entries are the attended place, an object's centre
      when the weights cover it, which is what "left of" and "above"
      compare); at every step the decoder state asks which
      positions matter now (`zoo.layers.attention.Attention`, additive score
      by default, as in the paper) and reads their weighted sum. The initial
      state comes from the mean feature. What the decoder saw is fed back:
      each step's input is the previous word together with the previous
      step's attentional output `tanh(W_c [context; state])` (input feeding,
      Luong et al., 2015), so the recurrent state remembers where the last
      object was, which a relation word ("left of the ...") needs. Training
      therefore runs the decoder one step at a time (`tf.scan`), as decoding
      does.
    - `decoder="init-state"`, Show and Tell (Vinyals et al., 2015): the image
      is seen once, as the decoder's initial state, a dense map of the
      whole flattened grid (flattened, not averaged: averaging would lose
      where each object is). After that the decoder sees only its own
      words. Its attention output is all zeros (it attends to nothing), as
      `Translator(attention="none")`'s.

    Either summary (mean or flattened grid) is layer-normalised before the
    dense `tanh` map that makes it the initial state, so that no image
    saturates it.

    At every step `tanh(W_c [context; state])` (just `tanh(W_c state)` for
    init-state) is compared with every word embedding (shared with the
    input) to give the next word's logits.

    Training feeds the reference caption (teacher forcing): `call` takes
    `{"images": float [B, S, S, 3] in [0, 1], "caption_in": int [B, T]}`
    (`BOS_ID` then the caption's ids) and returns logits `[B, T, V]`. Serving
    decodes JPEG or PNG bytes in the graph and runs greedy or beam search
    (`zoo.decoding`) up to `max_length` tokens, the end token included; the
    decoder never emits padding, the start token or the out-of-vocabulary id.

    Args:
        vocabulary: the caption words (lower case, no spaces), e.g. every
            word of the training captions.
        backbone_weights: `None` or `"imagenet"` for the MobileNet backbone;
            only a starting point: the config records `None`, the model's own
            weights carry them from then on.
        **kwargs: the hyperparameters, any field of `CaptionerConfig`
            (`decoder`, `hidden`, `filters`, `beam_width`, ...: each its
            default unless given), and Keras' `name`.

    Example:

    >>> import numpy as np
    >>> c = Captioner(["a", "red", "circle"], hidden=8, embedding_dim=8, filters=(4, 4, 4), max_length=5)
    >>> c.grid_shape, len(c.caption([np.zeros((64, 64, 3), "uint8")]))
    ((8, 8), 1)
    """

    TASK = "image-captioning"
    INPUT_KIND = "image"
    CONFIG = CaptionerConfig

    def __init__(self, vocabulary, backbone_weights=None, **kwargs):
        config, kwargs = self.CONFIG.take(kwargs)
        super().__init__(**kwargs)
        self.config = config
        self.vocabulary = [str(w) for w in vocabulary]
        bad = [w for w in self.vocabulary if not w or w != "".join(w.split()) or w in (BOS, EOS)]
        if bad or len(set(self.vocabulary)) != len(self.vocabulary):
            raise ValueError(f"vocabulary: expected distinct words without spaces, got {bad or 'duplicates'}")
        self.decoder_kind, self.cell, self.hidden = config.decoder, config.cell, config.hidden
        self.embedding_dim, self.filters, self.batch_norm = config.embedding_dim, list(config.filters), config.batch_norm
        self.attention_score, self.dropout_rate, self.beam_width = config.attention_score, config.dropout, config.beam_width
        self.length_penalty, self.max_length, self.image_size = config.length_penalty, config.max_length, config.image_size
        self.backbone, self.recurrent_initializer = config.backbone, config.recurrent_initializer
        self._check_sizes()
        self._build_layers(backbone_weights)
        self.build_for_inference()

    def _check_sizes(self):
        """Refuses what each hyperparameter allows but no model is made of: a beam too wide to search, an image
        size the CNN's blocks cannot halve."""
        if self.beam_width > MAX_BEAM_WIDTH:  # CaptionerConfig refused below 1
            raise ValueError(f"beam_width must be 1 to {MAX_BEAM_WIDTH}, got {self.beam_width}")
        if self.backbone == "cnn" and (not self.filters or self.image_size % 2 ** len(self.filters)):
            raise ValueError(f"image_size {self.image_size} must be a multiple of 2 ** len(filters) "
                             f"= {2 ** len(self.filters)}")

    def _build_layers(self, backbone_weights):
        """Every layer and weight, in the order the published models' weight files list them."""
        self.words = keras.layers.StringLookup(vocabulary=[BOS, EOS, *self.vocabulary], mask_token="",
                                               name="words")
        self.target_size = self.words.vocabulary_size()
        self.written = ["", "", "", "", *self.vocabulary]  # by id: padding, OOV, BOS and EOS write nothing
        self.word_embedding = keras.layers.Embedding(
            self.target_size, self.embedding_dim, name="word_embedding",
            embeddings_initializer=output_embedding_initializer())  # also the output layer (see Translator)
        self.word_embedding.build()  # `encode` reads it, before any word is embedded
        self.embedding_dropout = keras.layers.Dropout(self.dropout_rate, name="embedding_dropout")
        self.cnn = self._backbone(backbone_weights)
        _, grid_h, grid_w, channels = self.cnn.compute_output_shape((1, self.image_size, self.image_size, 3))
        self.grid_shape = (int(grid_h), int(grid_w))
        self.grid_size = self.grid_shape[0] * self.grid_shape[1]
        self.grid_channels = int(channels)
        self.feature_dropout = keras.layers.Dropout(self.dropout_rate, name="feature_dropout")
        if self.decoder_kind == "attention":
            self.key_projection = keras.layers.Dense(self.hidden, name="keys")
            self.grid_positions = self.add_weight(shape=(self.grid_size, self.hidden), name="grid_positions",
                                                  initializer=keras.initializers.RandomNormal(stddev=0.1))
            self.grid_coordinates = grid_coordinates(*self.grid_shape)
            self.attend = Attention(self.attention_score, units=self.hidden, name="attention")
            key_size = self.hidden + 2  # the features, then the cell's (x, y)
            self.attend.build((None, None, self.hidden), (None, None, key_size))  # decoding calls its parts
        else:
            self.attend = None
        self.summary_norm = keras.layers.LayerNormalization(name="summary_norm")  # keeps tanh(bridge) unsaturated
        self.bridge = keras.layers.Dense(self.hidden, activation="tanh", name="bridge")
        self.decoder = make_rnn(self.cell, self.hidden, return_sequences=True,
                                recurrent_initializer=self.recurrent_initializer, name="decoder")
        fed_back = self.embedding_dim if self.attend is not None else 0  # input feeding (see the class doc)
        self.decoder.build((None, None, self.embedding_dim + fed_back))
        self.combine = keras.layers.Dense(self.embedding_dim, activation="tanh", name="W_c")
        self.output_dropout = keras.layers.Dropout(self.dropout_rate, name="output_dropout")
        self.output_bias = self.add_weight(shape=(self.target_size,), initializer="zeros", name="output_bias")

    def _backbone(self, weights):
        shape = (self.image_size, self.image_size, 3)
        if self.backbone == "mobilenet_v3_small":
            return keras.applications.MobileNetV3Small(input_shape=shape, include_top=False, weights=weights,
                                                       include_preprocessing=True)
        blocks = []
        for i, width in enumerate(self.filters, start=1):
            for j in (1, 2):
                blocks.append(keras.layers.Conv2D(width, 3, padding="same", use_bias=not self.batch_norm,
                                                  name=f"conv{i}_{j}"))
                if self.batch_norm:
                    blocks.append(keras.layers.BatchNormalization(name=f"batch_norm{i}_{j}"))
                blocks.append(keras.layers.ReLU(name=f"relu{i}_{j}"))
            blocks.append(keras.layers.MaxPooling2D(2, name=f"pool{i}"))
        cnn = keras.Sequential(blocks, name="cnn")
        cnn.build((None, *shape))
        return cnn

    # -- encoder ---------------------------------------------------------------------------------

    def encode(self, images, training=False):
        """Reads images `float [B, S, S, 3]` in [0, 1].

        Returns a dict: `grid` `[B, P, C]` (the CNN's features at each of the
        P grid positions, row by row), `keys` `[B, P, hidden + 2]` and `projected`
        (attention's keys and their part of the score; the grid itself with
        `decoder="init-state"`), `mask` `[B, P]` (all true), `states` (the
        decoder's start) and `output_weights` (`zoo.decoding`).
        """
        images = tf.cast(images, tf.float32)
        x = images * 255.0 if self.backbone == "mobilenet_v3_small" else images * 2.0 - 1.0
        features = self.cnn(x, training=training)
        grid = self.feature_dropout(tf.reshape(features, [-1, self.grid_size, self.grid_channels]),
                                    training=training)
        mask = tf.ones(tf.shape(grid)[:2], tf.bool)
        if self.attend is None:
            keys = projected = grid
            summary = tf.reshape(grid, [-1, self.grid_size * self.grid_channels])
        else:
            features = self.key_projection(grid) + self.grid_positions
            coordinates = tf.tile(self.grid_coordinates[None], [tf.shape(grid)[0], 1, 1])
            keys = tf.concat([features, coordinates], axis=-1)
            projected = self.attend.project_keys(keys)
            summary = tf.reduce_mean(grid, axis=1)
        start = self.bridge(self.summary_norm(summary))
        states = [start, tf.zeros_like(start)] if self.cell == "lstm" else [start]
        if self.attend is not None:  # the attentional output fed back at the first step: none yet
            states.append(tf.zeros([tf.shape(grid)[0], self.embedding_dim]))
        return {"grid": grid, "keys": keys, "projected": projected, "mask": mask, "states": states,
                "output_weights": tf.transpose(self.word_embedding.embeddings)}

    # -- decoder ---------------------------------------------------------------------------------

    def _attentional(self, decoder_states, encoded):
        """`tanh(W_c [context; state])` `[B, T, E]` and attention `[B, T, P]` for decoder states
        `[B, T, hidden]` (`tanh(W_c state)` and zero attention for init-state)."""
        if self.attend is None:
            weights = tf.zeros([tf.shape(decoder_states)[0], tf.shape(decoder_states)[1],
                                tf.shape(encoded["mask"])[1]])
            return self.combine(decoder_states), weights
        context, weights = self.attend.attend(decoder_states, encoded["keys"], encoded["projected"],
                                              encoded["mask"])
        return self.combine(tf.concat([context, decoder_states], axis=-1)), weights

    def _logits(self, attentional, encoded, training=False):
        """Next-word logits `[B, T, V]`: the attentional output compared with every word embedding."""
        attentional = self.output_dropout(attentional, training=training)
        return similarity_logits(attentional, encoded["output_weights"], self.output_bias)

    def _step(self, embedded, states, encoded, training=False):
        """One decoder step for embedded words `[N, E]`: `(attentional [N, E], states, attention [N, P])`."""
        if self.attend is None:
            output, states = self.decoder.cell(embedded, states, training=training)
            attentional, weights = self._attentional(output[:, None, :], encoded)
            return attentional[:, 0], states, weights[:, 0]
        *cell_states, fed_back = states
        output, cell_states = self.decoder.cell(tf.concat([embedded, fed_back], axis=-1), cell_states,
                                                training=training)
        attentional, weights = self._attentional(output[:, None, :], encoded)
        return attentional[:, 0], [*tf.nest.flatten(cell_states), attentional[:, 0]], weights[:, 0]

    def decode_step(self, token_ids, states, encoded):
        """One decoding step for `[N]` previous tokens: `(log-probabilities [N, V], states, attention [N, P])`."""
        attentional, states, weights = self._step(self.word_embedding(token_ids), states, encoded)
        never = tf.one_hot([PAD_ID, OOV_ID, BOS_ID], self.target_size, on_value=-1e9)  # tokens no step may emit
        logits = self._logits(attentional[:, None, :], encoded)[:, 0]
        return tf.nn.log_softmax(logits + tf.reduce_sum(never, axis=0)), states, weights

    def call(self, inputs, training=False):
        """Teacher-forced logits `[B, T, V]` for `{"images": float [B, S, S, 3], "caption_in": int [B, T]}`."""
        encoded = self.encode(inputs["images"], training=training)
        y = self.embedding_dropout(self.word_embedding(inputs["caption_in"]), training=training)
        if self.attend is None:  # the words alone drive the recurrence: one pass over the caption
            decoder_states = self.decoder(y, initial_state=encoded["states"], training=training)
            return self._logits(self._attentional(decoder_states, encoded)[0], encoded, training=training)

        def step(carry, embedded):
            _, states = carry
            attentional, states, _ = self._step(embedded, states, encoded, training=training)
            return attentional, states

        first = (tf.zeros([tf.shape(y)[0], self.embedding_dim]), encoded["states"])
        attentional, _ = tf.scan(step, tf.transpose(y, [1, 0, 2]), initializer=first)
        return self._logits(tf.transpose(attentional, [1, 0, 2]), encoded, training=training)

    def caption_ids(self, captions):
        """Word ids of captions `string [B]` (lower-cased, split on spaces): a `RaggedTensor [B, None]`."""
        return tf.cast(self.words(tf.strings.split(tf.strings.lower(captions))), tf.int32)

    def build(self, input_shape=None):
        """Nothing to do: every layer is built by `build_for_inference` in the constructor."""

    def build_for_inference(self):
        self({"images": tf.zeros([1, self.image_size, self.image_size, 3]),
              "caption_in": tf.constant([[BOS_ID, OOV_ID]])})
        self.caption_ids(tf.constant(["a"]))  # the word lookup is not part of `call`; export tracks it

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": self.vocabulary,
            **self.config.as_dict(),
            "backbone_weights": None,  # the model's weights hold them now: never download again
        }

    # -- serving and the Python API ----------------------------------------------------------------

    def serving_signatures(self):
        return signatures.signatures(self)

    def example_requests(self):
        return signatures.example_requests(self)

    @functools.cached_property
    def _preprocess_function(self):
        return signatures.preprocess_function(self)

    def caption(self, images: Sequence[str | PathLike | bytes], beam_width: int | None = None,
                max_length: int | None = None, return_attention: bool = False) -> list:
        """Captions images.

        Args:
            images: a list of images, each a path (`str` or `Path`), the bytes
                of a JPEG or PNG file, or an array (H×W, H×W×1, H×W×3 or
                H×W×4; uint8, or floats in [0, 1]). A single path, bytes or
                array is one image; a 4-D array is a batch. Arrays are
                PNG-encoded, so every image goes through the serving graph.
            beam_width: hypotheses kept per step; 1 is greedy search. The
                model's `beam_width` when `None`.
            max_length: at most this many tokens, the end token included
                (and at most the model's `max_length`).
            return_attention: return dicts with the caption, its `tokens`,
                the `attention` of each token over the grid `[T, grid_h,
                grid_w]`, the `image` the model saw (`[S, S, 3]` in [0, 1])
                and the `score`, for `zoo.plot_caption_attention`.

        Returns:
            One caption per image (lower-case words joined by spaces), or one
            dict per image with `return_attention=True`.

        Raises:
            ValueError: naming the image (`images[i]`) that could not be
                read or decoded, and what was expected.
        """
        return signatures.caption_images(self, images, beam_width, max_length, return_attention)

    def preprocess(self, images):
        """The images as the model sees them: float `[N, S, S, 3]` in [0, 1] (inputs as for `caption`)."""
        return signatures.preprocess_images(self, images)

    def predict_file(self, path):
        """The caption of one image file (JPEG or PNG)."""
        return self.caption([path])[0]

    def predict_files(self, paths):
        """The captions of image files (JPEG or PNG), in batches (`zoo predict --image A B ...`)."""
        return self.caption(paths)

    def predict_records(self, inputs):
        return [{"image": str(path), "caption": caption} for path, caption in zip(inputs, self.caption(inputs))]

    def evaluate_split(self, split="test"):
        """The card's metrics recomputed on a split of its dataset: a `CaptioningEvaluation`."""
        from zoo.captioning import evaluation

        return evaluation.evaluate_split(self, split)

    def demo(self):
        from zoo.captioning import demo

        return demo.demo_lines(self)
