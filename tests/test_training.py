"""What every recipe's training shares: resuming from a backup, even one a kill left half-written."""

import keras
import numpy as np
import pytest

from zoo import training


class _KilledAfter(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt  # what a kill between epochs leaves behind: the backups, no end of training


def _fit(workdir, epochs, *extra):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    return model.fit(x, y, epochs=epochs, verbose=0,
                     callbacks=[*training.standard_callbacks(workdir, 10, 10), *extra])


def test_a_half_written_backup_resumes_from_the_one_before(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path, 5, _KilledAfter(2))
    backup = tmp_path / "backup"
    (backup / "latest.weights.h5").write_bytes(b"\x89HDF\r\n half written")  # killed while saving epoch 3
    resumed = _fit(tmp_path, 5)
    assert resumed.epoch == [2, 3, 4]  # from the backup of epoch 2, not from scratch


def test_an_intact_backup_resumes_from_its_epoch(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path, 5, _KilledAfter(2))
    assert _fit(tmp_path, 5).epoch == [3, 4]
