"""One frozen dataclass of hyperparameters per model class: its defaults, checks and help in one place.

A task's `config.py` declares its model's hyperparameters as a subclass of
`Hyperparameters`, each field made by `hyperparameter` (default, help, the
check that a value must pass). From it the model's constructor takes its
keyword arguments (`Hyperparameters.take`) and `get_config` returns them
(`as_dict`), the recipe builds its flags (`add_flags`, defaults and help from
the fields) and its model (`from_flags`), and the card records the run's
flags. It imports neither TensorFlow nor Keras, so a recipe's `--help` is
quick.

Example:

>>> import dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class Tiny(Hyperparameters):
...     hidden: int = hyperparameter(64, "hidden state size", parse=at_least(1))
...     cell: str = hyperparameter("gru", "recurrent cell", choices=("gru", "lstm"))
>>> Tiny(hidden=8).as_dict()
{'hidden': 8, 'cell': 'gru'}
>>> Tiny(cell="rnn")
Traceback (most recent call last):
ValueError: Tiny cell: expected one of gru, lstm, got 'rnn'
>>> config, rest = Tiny.take({"hidden": 8, "name": "tiny"})
>>> config.hidden, rest
(8, {'name': 'tiny'})
"""

import argparse
import dataclasses
import math


def at_least(minimum, kind=int):
    """An argparse type (and a field's check): a finite number of `kind` not below `minimum`, or an error that
    says so.

    >>> at_least(1)("3"), at_least(0.0, float)("0")
    (3, 0.0)
    >>> at_least(1)("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: expected a whole number of at least 1, got '0'
    """
    what = "a whole number" if kind is int else "a finite number"

    def parse(text):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            value = None
        if value is None or not math.isfinite(value) or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what} of at least {minimum:g}, got {text!r}")
        return value

    return parse


def fraction(text):
    """An argparse type (and a field's check): a fraction in [0, 1) (a dropout rate), or an error that says so.

    >>> fraction("0.25")
    0.25
    """
    return _from_zero(text, "a fraction of at least 0 and below 1", lambda value: value < 1)


def probability(text):
    """An argparse type (and a field's check): a probability in [0, 1], or an error that says so.

    >>> probability("1")
    1.0
    """
    return _from_zero(text, "a probability from 0 to 1", lambda value: value <= 1)


def _from_zero(text, what, below_top):
    try:
        value = at_least(0.0, float)(text)
    except argparse.ArgumentTypeError:
        value = None
    if value is None or not below_top(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def choice_list(choices):
    """An argparse type: comma-separated values, each one of `choices`, as a list.

    >>> choice_list(("elman", "gru", "lstm"))("gru, lstm")
    ['gru', 'lstm']
    """
    def parse(text):
        values = [v.strip() for v in text.split(",") if v.strip()]
        unknown = sorted(set(values) - set(choices))
        if not values or unknown:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(choices)}; got {text!r}")
        return values

    return parse


def hyperparameter(default, help, *, parse=None, choices=None, flag=None, recipe=True):
    """A field of a `Hyperparameters` dataclass.

    Args:
        default: the value a model and a recipe run take unless told otherwise.
        help: what it does, as the recipe's `--help` shows it.
        parse: a check that turns a value (or a flag's text) into the field's value or raises
            `argparse.ArgumentTypeError` saying what was expected (`at_least(1)`, `fraction`); booleans and
            fields with `choices` need none.
        choices: the values allowed.
        flag: the recipe's flag when it is not the field's name (`layers` for `num_layers`: the spelling
            published cards' commands use).
        recipe: False for a field the recipe sets itself (from another flag or the data), with no flag.
    """
    return dataclasses.field(default=default, metadata={
        "help": help, "parse": parse, "choices": choices, "flag": flag, "recipe": recipe})


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """The base of each task's hyperparameters: every field checked when made, a `ValueError` naming it.

    `ABSENT_MEANS` maps a field added after some versions were exported to the value those versions were
    made with (their stored configs lack it); `ZooModel.from_config` fills it in.
    """

    ABSENT_MEANS = {}

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, self._checked(field, getattr(self, field.name)))

    def _checked(self, field, value):
        meta = field.metadata
        if meta["choices"] is not None:
            if value not in meta["choices"]:
                raise ValueError(f"{type(self).__name__} {field.name}: expected one of "
                                 f"{', '.join(map(str, meta['choices']))}, got {value!r}")
            return value
        if isinstance(field.default, bool):
            if not isinstance(value, bool) and value not in (0, 1):
                raise ValueError(f"{type(self).__name__} {field.name}: expected true or false, got {value!r}")
            return bool(value)
        if meta["parse"] is None or (value is None and field.default is None):
            return value
        if isinstance(value, bool) or (isinstance(field.default, int) and isinstance(value, float)
                                       and not value.is_integer()):
            value = repr(value)  # not a whole number: the check refuses its text
        try:
            return meta["parse"](value if isinstance(value, str) else plain_number(value))
        except argparse.ArgumentTypeError as error:
            raise ValueError(f"{type(self).__name__} {field.name}: {error}") from None

    @classmethod
    def take(cls, kwargs):
        """`(config, rest)`: the hyperparameters among a constructor's `kwargs`, and the others (Keras' own:
        `name`, `dtype`, `trainable`)."""
        names = {field.name for field in dataclasses.fields(cls)}
        return (cls(**{k: v for k, v in kwargs.items() if k in names}),
                {k: v for k, v in kwargs.items() if k not in names})

    def as_dict(self):
        """The fields as a plain dict, for `get_config` (JSON-ready)."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    @classmethod
    def add_flags(cls, parser, beside=None):
        """One flag per field the recipe sets (`--hidden`, `--no-bidirectional`), with the field's default and
        help; the fields of `beside` (another class whose flags the parser has already) left out."""
        taken = {field.name for field in dataclasses.fields(beside)} if beside else set()
        for field in dataclasses.fields(cls):
            meta = field.metadata
            if not meta["recipe"] or field.name in taken:
                continue
            option = "--" + _dest(field).replace("_", "-")
            if isinstance(field.default, bool):
                parser.add_argument(option, action=argparse.BooleanOptionalAction, default=field.default,
                                    help=meta["help"])
            else:
                parser.add_argument(option, type=meta["parse"] or type(field.default), choices=meta["choices"],
                                    default=field.default, help=meta["help"])

    @classmethod
    def from_flags(cls, args, **overrides):
        """The hyperparameters a recipe's parsed `args` ask for (fields the recipe sets itself: `overrides`)."""
        values = {field.name: getattr(args, _dest(field))
                  for field in dataclasses.fields(cls) if field.metadata["recipe"]}
        return cls(**{**values, **overrides})


def _dest(field):
    """Where argparse keeps a field's flag: its `flag` (`layers` for `num_layers`), else its name."""
    return field.metadata["flag"] or field.name


def plain_number(value):
    """A NumPy scalar as the Python number it holds (`str(np.float32(0.1))` is not `0.1`'s text, and JSON
    writes no NumPy scalar); anything else as it is."""
    return value.item() if hasattr(value, "item") else value
