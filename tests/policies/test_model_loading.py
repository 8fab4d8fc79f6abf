"""The quick model load (policies/model_loading.py) serves exactly the trained weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.utils.tensorflow import models

from policies import model_loading
from tools.harness.sms_stack import MODEL

pytestmark = pytest.mark.e2e  # needs the trained model


def _stored_values(folder: Path) -> tuple[int, list[np.ndarray]]:
    """How many model variables the checkpoint holds, and their values.

    A sparse layer's kernel is held as stored and also masked, as the layer leaves
    it once it has run.
    """
    index = next(folder.glob("*.tf_model.index"))
    checkpoint = str(index.with_suffix(""))
    reader = tf.train.load_checkpoint(checkpoint)
    keys = [
        key
        for key, _ in tf.train.list_variables(checkpoint)
        if key.startswith("model/")
        and key.endswith("/.ATTRIBUTES/VARIABLE_VALUE")
        and "optimizer" not in key  # the training state, not the model
    ]
    values = []
    for key in keys:
        value = reader.get_tensor(key)
        mask_key = key.replace("/kernel/.ATTRIBUTES", "/kernel_mask/.ATTRIBUTES")
        values.append(value)
        if mask_key != key and mask_key in keys:
            values.append(value * reader.get_tensor(mask_key))
    return len(keys), values


@pytest.mark.parametrize("component", [TEDPolicy, ResponseSelector])
def test_every_weight_loaded_is_the_trained_one(
    component: type[GraphComponent], tmp_path: Path
) -> None:
    assert model_loading.apply(), "the quick load is not in use with this Rasa"
    assert models.RasaModel.load.__func__ is model_loading._load_with_an_eager_build
    storage, metadata = LocalModelStorage.from_model_archive(tmp_path, MODEL)
    node = next(
        n for n in metadata.predict_schema.nodes.values() if n.uses is component
    )
    loaded = component.load(
        {**component.get_default_config(), **node.config},
        storage,
        node.resource,
        ExecutionContext(metadata.predict_schema, metadata.model_id),
    )
    weights = [w.numpy() for w in loaded.model.weights]
    with storage.read_from(node.resource) as folder:
        count, stored = _stored_values(folder)

    assert len(weights) == count > 10
    for weight in weights:
        same = [
            s for s in stored if s.shape == weight.shape and np.array_equal(s, weight)
        ]
        assert same, f"a weight of shape {weight.shape} is not the trained value"
