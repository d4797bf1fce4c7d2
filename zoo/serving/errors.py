"""`ServingError`: a request TF Serving would refuse, shared by the server's modules (and importable without
TF Serving's protos, so that `zoo serve --help` lists its flags whatever is installed)."""

import tensorflow as tf


class ServingError(Exception):
    """A request TF Serving would refuse: `str(error)` is its message, `code` its status code.

    Args:
        message: TF Serving's wording.
        code: a canonical status code (`tf.errors.NOT_FOUND`, ...), the same
            numbers as gRPC's status codes.

    Example:

    >>> import tensorflow as tf
    >>> error = ServingError("Could not find any versions of model nope", tf.errors.NOT_FOUND)
    >>> error.code == tf.errors.NOT_FOUND, str(error)
    (True, 'Could not find any versions of model nope')
    """

    def __init__(self, message, code=tf.errors.INVALID_ARGUMENT):
        super().__init__(message)
        self.code = code
