"""`SensorConfig`: the hyperparameters of a `SensorClassifier`, its recipe's flags and their defaults."""

import dataclasses

from zoo.hyperparameters import Hyperparameters, at_least, fraction, hyperparameter
from zoo.layers import CELLS

ENCODERS = (*CELLS, "dense")
READOUTS = ("last", "pool")
CENTRINGS = ("none", "series", "standardise")


@dataclasses.dataclass(frozen=True)
class SensorConfig(Hyperparameters):
    """Hyperparameters of a `SensorClassifier`, with the defaults its recipe trains with.

    Attributes:
        cell: `"elman"`, `"gru"`, `"lstm"` or `"dense"`.
        hidden: hidden size (per direction).
        bidirectional: read the series both ways.
        num_layers: stacked recurrent layers.
        dropout: dropout on the final representation, while training.
        noise: standard deviation of Gaussian noise added to the normalised
            inputs while training (augmentation); with `centring="standardise"`
            after each series is brought to unit spread, so in units of the
            series' own spread (noise in units of the channel's overall spread,
            as `zoo.sensor.perturbations` adds it, buried PLAID's small
            appliances: 40 % TEST accuracy against 82.5 %).
        input_dropout: fraction of input channels dropped for a whole series
            while training (the same channels at every step, as recurrent
            dropout masks do).
        offset, gain: while training, each channel of each series is shifted
            by an offset drawn from N(0, `offset`) and scaled by a gain drawn
            from exp N(0, `gain`), in units of the channel's standard
            deviation (augmentation: real sensors differ in calibration).
        centring: `"none"`; `"series"`: each channel of a series minus
            its own mean over the series' steps before anything else, which
            makes the model blind to a constant offset (and to the level of
            a channel, which some tasks need: the recipe chooses on
            validation); `"standardise"`: after the dataset's normalisation,
            each channel of a series minus its mean and divided by its
            spread over the series, the log of that spread fed beside it at
            every step: the shape at unit scale, the scale as one number
            (for series whose amplitudes span decades, as appliance currents
            do, and blind to offsets).
        recurrent_initializer: initialiser of `W_hh`.
        readout: `"last"` reads the class from the final state `h_T`;
            `"pool"` from the mean and max of all states `h_1 … h_T`, which
            lets every step vote (useful when each step carries evidence).
        max_length: longest series accepted; longer input is refused.
        frame: raw steps read as one recurrent step (their values side by
            side, `[T, C]` -> `[ceil(T / frame), frame * C]`, the last frame
            zero-padded): a series of a thousand steps becomes a recurrence
            the gradient can cross (BPTT through `T / frame` steps, not `T`).
        members: networks of this shape, each initialised on its own and
            trained on its own loss, whose class probabilities are averaged
            (a deep ensemble: their errors differ, so the average errs less
            than each; `members` times the work).
    """

    cell: str = hyperparameter("gru", "recurrent cell; dense: no recurrence (the DNN baseline)", choices=ENCODERS)
    hidden: int = hyperparameter(64, "hidden state size (per direction)", parse=at_least(1))
    bidirectional: bool = hyperparameter(False, "read series both ways")
    num_layers: int = hyperparameter(1, "stacked recurrent layers", parse=at_least(1), flag="layers")
    dropout: float = hyperparameter(0.2, "dropout before the output layer W_hy", parse=fraction)
    noise: float = hyperparameter(0.1, "Gaussian input noise while training (std)", parse=at_least(0.0, float))
    input_dropout: float = hyperparameter(0.0, "fraction of input channels dropped per series while training",
                                          parse=fraction)
    offset: float = hyperparameter(0.0, "while training: per-series, per-channel calibration offset drawn from "
                                        "N(0, this), in channel standard deviations", parse=at_least(0.0, float))
    gain: float = hyperparameter(0.0, "while training: per-series, per-channel gain drawn from exp N(0, this)",
                                 parse=at_least(0.0, float))
    centring: str = hyperparameter("none", "series: each channel minus its mean over the series (blind to offsets); "
                                           "standardise: also divided by its spread, the log of which is fed "
                                           "beside it", choices=CENTRINGS, recipe=False)
    recurrent_initializer: str = hyperparameter("orthogonal", "initialiser of the recurrent weights W_hh",
                                                flag="initializer")
    readout: str = hyperparameter("last", "classify from the last hidden state or from mean+max over all states",
                                  choices=READOUTS)
    max_length: int = hyperparameter(1000, "longest series the model accepts", parse=at_least(1))
    frame: int = hyperparameter(1, "raw steps read as one recurrent step (long series: BPTT through T/frame steps)",
                                parse=at_least(1))
    members: int = hyperparameter(1, "networks trained side by side, each on its own loss, their class "
                                     "probabilities averaged (an ensemble)", parse=at_least(1))
