"""A Hugging Face Trainer script as its users write it: HfArgumentParser, default logging.

A tiny BERT built from a config (no hub download) classifies digits rows read as token ids.
"""
from dataclasses import dataclass, field

import numpy as np
import torch
from datasets import Dataset
from sklearn.datasets import load_digits
from transformers import BertConfig, BertForSequenceClassification, HfArgumentParser, Trainer, TrainingArguments


@dataclass
class ModelArguments:
    hidden_size: int = field(default=32)


def compute_metrics(eval_pred):
    logits, labels = eval_pred
    return {"accuracy": float((np.argmax(logits, axis=-1) == labels).mean())}


def main():
    parser = HfArgumentParser((ModelArguments, TrainingArguments))
    model_args, training_args = parser.parse_args_into_dataclasses()
    x, y = load_digits(return_X_y=True)
    ids = x.astype(np.int64) + 1
    data = Dataset.from_dict({"input_ids": ids.tolist(), "labels": y.tolist()}).train_test_split(test_size=0.2, seed=0)
    config = BertConfig(vocab_size=18, hidden_size=model_args.hidden_size, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64, num_labels=10)
    model = BertForSequenceClassification(config)
    trainer = Trainer(model=model, args=training_args, train_dataset=data["train"],
                      eval_dataset=data["test"], compute_metrics=compute_metrics)
    trainer.train()
    print(trainer.evaluate())


if __name__ == "__main__":
    main()
