"""Brown-style tokenisation inside the graph, with core TensorFlow string ops only: how the tagger, the
agreement classifier and the language model split English sentences.

TF Serving's stock image has no tensorflow-text kernels, so the tokeniser is
built from `tf.strings` regular expressions (RE2) and ragged splits. It
follows the Brown corpus's conventions, which the tagger was trained on:

- punctuation `, ; : ! ? ( ) [ ] { }`, dashes (`--`, `—`, `–`) and `...` are
  tokens of their own; a comma or colon between digits stays inside the
  number (`1,000`, `9:30`); `$`, `%`, `/`, `&`, hyphens stay inside words;
- double quotes become Brown's opening ```` `` ```` and closing `''` tokens
  (`"`, `“`, `”`); curly apostrophes become `'`;
- contractions and possessives stay one token, as Brown tags them
  (`don't` is `DO*`, `it's` is `PPS+BEZ`, `Atlanta's` is `NP$`);
- a final period is split off a word unless the word is an abbreviation
  (`Mr.`, `U.S.`, `p.m.`, `etc.`: a run of single letters with periods, or
  one of `ABBREVIATIONS` or `CAPITALIZED_ABBREVIATIONS`); the sentence's last period is always split off.

Whitespace-only or empty input gives no tokens.
"""

import tensorflow as tf

ABBREVIATIONS = (  # matched in any case: "Mr." and "mr."
    "mr", "mrs", "ms", "messrs", "dr", "st", "jr", "sr", "co", "corp", "inc", "ltd", "bros", "etc", "vs", "cf",
    "fig", "figs", "vol", "ch", "sec", "op", "pp", "gen", "gov", "sen", "rep", "rev", "lt", "col",
    "capt", "sgt", "maj", "adm", "prof", "pres", "supt", "ave", "av", "blvd", "mt", "ft", "yd", "yds", "lb",
    "lbs", "oz", "cm", "mm", "km", "kg", "mg", "gm", "ml", "hr", "hrs", "approx", "dept", "univ", "assn",
)
CAPITALIZED_ABBREVIATIONS = (  # "No." (number), months, days, states: "Mass." but not "mass."
    "No", "Nos", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Mon",
    "Tues", "Wed", "Thurs", "Fri", "Sat", "Sun", "Ala", "Ariz", "Calif", "Colo", "Conn", "Del", "Fla", "Ga", "Ill", "Ind",
    "Kan", "Ky", "La", "Md", "Mass", "Mich", "Minn", "Miss", "Mo", "Neb", "Nev", "Okla", "Ore", "Pa", "Tenn",
    "Tex", "Va", "Wash", "Wis",
)
_ABBREVIATION = (r"(?:\pL\.)+\pL?|(?:(?i:" + "|".join(ABBREVIATIONS) + ")|"
                 + "|".join(CAPITALIZED_ABBREVIATIONS) + r")\.")
_DIGIT_COMMA, _DIGIT_COLON = "\x02", "\x03"  # placeholders that keep 1,000 and 9:30 whole


def tokenize(sentences):
    """Splits UTF-8 sentences `[B]` into Brown-style tokens, a `RaggedTensor` `[B, (N)]`.

    >>> [[t.decode() for t in row] for row in tokenize(tf.constant(['"Don\\'t stop," Mr. Smith said.'])).to_list()]
    [['``', "Don't", 'stop', ',', "''", 'Mr.', 'Smith', 'said', '.']]
    """
    text = tf.strings.regex_replace(sentences, r"[\pZ\s]+", " ")
    for pattern, replacement in (
        (r"[\x{2018}\x{2019}]", "'"),
        (r"[\x{201C}\x{201E}]|``", " `` "),
        (r"\x{201D}|''", " '' "),
        (r'(^|[ (\[{])"', r"\1 `` "),
        (r'"', " '' "),
        (r"(\d),(\d)", r"\1" + _DIGIT_COMMA + r"\2"),
        (r"(\d):(\d)", r"\1" + _DIGIT_COLON + r"\2"),
        (r"(\.\.\.|--+|[,;:!?()\[\]{}\x{2013}\x{2014}\x{2026}])", r" \1 "),
        (_DIGIT_COMMA, ","),
        (_DIGIT_COLON, ":"),
    ):
        text = tf.strings.regex_replace(text, pattern, replacement)
    tokens = tf.strings.split(tf.strings.strip(text))
    return _split_final_periods(tokens)


def _split_final_periods(tokens):
    """`word.` → `word` `.`, unless `word.` is an abbreviation and not the sentence's last token."""
    words = tokens.flat_values
    position = tf.ragged.range(tokens.row_lengths()).flat_values
    is_last = position == tf.repeat(tokens.row_lengths() - 1, tokens.row_lengths())
    ends_with_period = tf.strings.regex_full_match(words, r".*[^.]\.")
    keep = tf.strings.regex_full_match(words, _ABBREVIATION) & ~is_last
    split = ends_with_period & ~keep
    words = tf.where(split, tf.strings.regex_replace(words, r"\.$", " ."), words)
    return tokens.with_flat_values(tf.strings.split(words)).merge_dims(1, 2)


def normalize(tokens):
    """The form a token is looked up by in the word vocabulary: lower-cased, every digit `0`.

    Case and digits still reach the tagger through the character encoder,
    which reads the token as written.

    >>> [t.decode() for t in normalize(tf.constant(["The", "1,962", "ÉTÉ"])).numpy()]
    ['the', '0,000', 'été']
    """
    return tf.strings.regex_replace(tf.strings.lower(tokens, encoding="utf-8"), r"\d", "0")
