"""A tiny BERT (built from a config: no hub download) trained by the Hugging Face ``Trainer`` with
trialwise's callback; digits rows read as token ids.  ``--lr`` sets the learning rate.

The first stdout line is the torch seed the process was seeded with before the model was built
(``trialwise.integrations.transformers`` seeds it at import under ``trialwise run``).
"""
import argparse
import json
import os
import tempfile

import numpy as np
import torch
from sklearn.datasets import load_digits
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from trialwise.integrations.transformers import TrialwiseCallback

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=5e-3)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()
print(json.dumps({"init_seed": torch.initial_seed()}))


class Rows(torch.utils.data.Dataset):
    def __init__(self, ids, labels):
        self.ids, self.labels = torch.tensor(ids), torch.tensor(labels)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


x, y = load_digits(return_X_y=True)
ids = x.astype(np.int64) + 1
perm = np.random.default_rng(0).permutation(len(y))
train, val = perm[:640], perm[1400:]  # 10 steps an epoch
config = BertConfig(vocab_size=18, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                    max_position_embeddings=64, num_labels=10)
model = BertForSequenceClassification(config)


def accuracy(eval_pred):
    logits, labels = eval_pred
    return {"accuracy": float((np.argmax(logits, axis=-1) == labels).mean())}


out = os.path.join(os.environ.get("TRIALWISE_RUN_DIR") or tempfile.mkdtemp(), "hf_output")
training_args = TrainingArguments(output_dir=out, num_train_epochs=args.epochs, per_device_train_batch_size=64,
                                  learning_rate=args.lr, eval_strategy="epoch", logging_steps=3, save_strategy="no",
                                  report_to="none", disable_tqdm=True, use_cpu=True)
trainer = Trainer(model=model, args=training_args, train_dataset=Rows(ids[train], y[train]),
                  eval_dataset=Rows(ids[val], y[val]), compute_metrics=accuracy,
                  callbacks=[TrialwiseCallback(watch=True, every=3, config={"model": config.to_diff_dict()})])
trainer.train()
