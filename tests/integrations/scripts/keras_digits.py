"""A small Keras 3 model (PyTorch backend) on scikit-learn's digits, logged with trialwise's Keras
callback.  The first stdout line is the torch seed the process was seeded with before the model was
built (``trialwise.integrations.keras`` seeds it at import under ``trialwise run``)."""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from trialwise.integrations.keras import TrialwiseCallback  # noqa: E402

print(json.dumps({"init_seed": torch.initial_seed()}))
x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")
perm = np.random.default_rng(0).permutation(len(y))
train, val = perm[:1400], perm[1400:]
model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.fit(x[train], y[train], validation_data=(x[val], y[val]), epochs=3, batch_size=64, verbose=0,
          callbacks=[TrialwiseCallback(batch_every=5)])
