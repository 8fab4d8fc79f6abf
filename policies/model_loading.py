"""Load Rasa's TensorFlow models (TED, ResponseSelector) in half the time.

Rasa 3.6 builds each model's variables before loading its weights by fitting one
example through a traced, graph-compiled train function that is then thrown away:
about half of a server start on this model. One eager forward pass of the training
loss creates the same layers without the trace; `load_weights` then fills them, so
every weight is the trained one (tests/policies/test_model_loading.py) and every
prediction is the one Rasa's own load gives. The optimizer's saved state is not
restored (inference never reads it). The prediction function is still traced once
at load, as Rasa does, so the first turn is not slower.

Rasa offers no setting for this (its `run_eagerly` would also run every prediction
eagerly), so the patch replaces `RasaModel.load` for the pinned Rasa version only,
and only when not fine-tuning (fine-tuning keeps Rasa's own path). Rasa imports
`policies` (for the AnswerPolicy class) before it loads any component, and the
package applies the patch, so it holds in `rasa run`, `rasa shell` and `rasa test`.
"""

from __future__ import annotations

import logging
from typing import Any

import rasa
import tensorflow as tf
from rasa.utils.tensorflow import models
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY

logger = logging.getLogger(__name__)

PATCHED_RASA_VERSION = "3.6.21"

_rasa_load = models.RasaModel.load.__func__


def _load_with_an_eager_build(
    cls: type[models.RasaModel],
    model_file_name: str,
    model_data_example: models.RasaModelData,
    predict_data_example: models.RasaModelData | None = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> models.RasaModel:
    if finetune_mode:
        return _rasa_load(
            cls,
            model_file_name,
            model_data_example,
            predict_data_example,
            finetune_mode,
            *args,
            **kwargs,
        )
    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
        run_eagerly=config.get(RUN_EAGERLY),
    )
    # One eager forward pass of the training loss builds every layer that fit() would.
    batch, _ = models.RasaBatchDataGenerator(model_data_example, batch_size=1)[0]
    model._training = True
    model.batch_loss(batch)
    model._training = None
    # The checkpoint also holds the optimizer's state, which inference never reads.
    model.load_weights(model_file_name).expect_partial()
    if predict_data_example:
        model.run_inference(predict_data_example)
    return model


def apply() -> bool:
    """Patch once; any other Rasa version keeps its own load (a warning says so)."""
    if getattr(models.RasaModel.load, "__func__", None) is _load_with_an_eager_build:
        return True
    if rasa.__version__ != PATCHED_RASA_VERSION:
        logger.warning(
            "Rasa %s is not %s: models load the slow way (policies/model_loading.py)",
            rasa.__version__,
            PATCHED_RASA_VERSION,
        )
        return False
    models.RasaModel.load = classmethod(_load_with_an_eager_build)
    return True
