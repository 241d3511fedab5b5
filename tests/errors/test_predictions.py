"""Predictions files: Parquet round trips, derived y_pred, validation messages, CSV import."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from trialwise import DataError, UsageError
from trialwise import errors as te


def _multi(n: int = 50, k: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    return np.arange(n), rng.integers(0, k, n), rng.dirichlet(np.ones(k), n), rng.random(n)


def test_multiclass_round_trip_with_array_inputs(tmp_path):
    ids, y, scores, loss = _multi()
    images = np.random.default_rng(1).random((50, 8, 8)).astype(np.float32)
    path = te.write_predictions(tmp_path, ids, y, scores=scores, loss=loss, inputs=images,
                                classes=["cat", "dog", "fox", "owl"])
    assert path == tmp_path / "predictions" / "val.parquet"
    schema = pq.read_schema(path)
    import pyarrow as pa

    assert pa.types.is_list(schema.field("scores").type)
    assert schema.field("scores").type.value_type == pa.float64()
    assert (tmp_path / "predictions" / "val.inputs.npy").is_file()
    p = te.read_predictions(tmp_path)
    np.testing.assert_array_equal(p.ids, ids)
    np.testing.assert_array_equal(p.y_true, y)
    np.testing.assert_array_equal(p.y_pred, scores.argmax(1))  # derived from scores
    np.testing.assert_array_equal(p.scores, scores)
    np.testing.assert_array_equal(p.loss, loss)
    np.testing.assert_array_equal(p.inputs, images)
    assert p.classes == ("cat", "dog", "fox", "owl") and p.split == "val"
    np.testing.assert_array_equal(p.confidence, scores.max(1))
    np.testing.assert_array_equal(p.score_true, scores[np.arange(50), y])
    assert p.input_ref(3) == "val.inputs.npy[3]"

    # rewriting the split without array inputs must not leave the stale array behind
    te.write_predictions(tmp_path, ids, y, scores=scores)
    assert not (tmp_path / "predictions" / "val.inputs.npy").exists()
    assert te.read_predictions(tmp_path / "predictions" / "val.parquet").inputs is None


def test_binary_scores_and_string_labels_and_paths(tmp_path):
    s = np.array([0.1, 0.5, 0.7, 0.49])
    te.write_predictions(tmp_path, ["a", "b", "c", "d"], [0, 1, 1, 1], scores=s, split="test")
    p = te.read_predictions(tmp_path, split="test")
    np.testing.assert_array_equal(p.y_pred, [0, 1, 1, 0])  # threshold 0.5, inclusive
    np.testing.assert_allclose(p.confidence, [0.9, 0.5, 0.7, 0.51])
    assert p.scores.ndim == 1 and p.ids.tolist() == ["a", "b", "c", "d"]

    te.write_predictions(tmp_path, [1, 2, 3], ["ham", "spam", "spam"], scores=[0.2, 0.9, 0.3],
                         classes=["ham", "spam"], inputs=["x/1.png", "x/2.png", "x/3.png"], split="mail")
    p = te.read_predictions(tmp_path, split="mail")
    assert p.y_pred.tolist() == ["ham", "spam", "ham"]
    assert p.inputs.tolist() == ["x/1.png", "x/2.png", "x/3.png"] and p.input_ref(1) == "x/2.png"


def test_torch_tensors_are_accepted(tmp_path):
    torch = pytest.importorskip("torch")
    logits = torch.randn(10, 3, requires_grad=True)
    probs = logits.softmax(1)
    p = te.Predictions.from_arrays(torch.arange(10), torch.tensor([0, 1, 2] * 3 + [0]), scores=probs)
    np.testing.assert_array_equal(p.y_pred, probs.detach().numpy().argmax(1))


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(ids=[1, 2, 3], y_true=[0, 1], y_pred=[0, 1, 1]), r"'y_true' has 2 entries but there are 3 ids"),
    (dict(ids=[1, 1, 2], y_true=[0, 1, 1], y_pred=[0, 1, 1]), r"ids must be unique.*1 at positions \[0, 1\]"),
    (dict(ids=[1, 2], y_true=[0, 3], scores=[[0.5, 0.5], [0.2, 0.8]]), r"integer labels must be in 0..1"),
    (dict(ids=[1, 2], y_true=[0, 1], scores=[[0.5], [0.2]]), r"scores has 1 column"),
    (dict(ids=[1, 2], y_true=[0, 1]), r"y_pred is missing and there are no scores"),
    (dict(ids=[1, 2], y_true=["a", "b"], scores=[[0.5, 0.5], [0.2, 0.8]]), r"string labels with scores need classes"),
    (dict(ids=[1, 2], y_true=[0, 1], scores=[[0.5, 0.5], [0.2, 0.8]], classes=["a", "b", "c"]),
     r"3 classes given but scores imply 2"),
    (dict(ids=[1, 2], y_true=[0, 1], y_pred=["a", "b"]),
     r"write_predictions: y_true and y_pred must both be integer or both string"),
    (dict(ids=[1, 2], y_true=[0, 1], y_pred=[0, 1], inputs=np.array([{}, {}])), r"no.*pickle|not used"),
    (dict(ids=[1, 2], y_true=[0, 1], y_pred=[0, 1], scores=[0.2, np.nan]), r"must be finite"),
])
def test_validation_errors_say_what_is_wrong(tmp_path, kwargs, message):
    with pytest.raises(DataError, match=message):
        te.write_predictions(tmp_path, **kwargs)
    assert not (tmp_path / "predictions").exists() or not any((tmp_path / "predictions").iterdir())


def test_bad_split_and_missing_file(tmp_path):
    with pytest.raises(UsageError, match="'split'"):
        te.write_predictions(tmp_path, [1], [0], y_pred=[0], split="../evil")
    with pytest.raises(DataError, match="log_predictions"):
        te.read_predictions(tmp_path)


# -- CSV import ------------------------------------------------------------------------------------

def _write(tmp_path, text: str, name: str = "preds.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_multiclass_csv_with_class_score_columns(tmp_path):
    csv = _write(tmp_path, "id,y_true,y_pred,score_cat,score_dog,score_fox,loss,input\n"
                           "a,cat,dog,0.2,0.7,0.1,1.2,img/a.png\n"
                           "b,fox,fox,0.1,0.1,0.8,0.2,img/b.png\n"
                           "c,dog,dog,0.3,0.6,0.1,0.5,img/c.png\n")
    p = te.import_predictions_csv(csv, run_dir=tmp_path / "run")
    assert p.classes == ("cat", "dog", "fox") and p.y_true.tolist() == ["cat", "fox", "dog"]
    np.testing.assert_allclose(p.confidence, [0.7, 0.8, 0.6])
    back = te.read_predictions(tmp_path / "run")
    np.testing.assert_array_equal(back.scores, p.scores)
    assert back.inputs.tolist() == ["img/a.png", "img/b.png", "img/c.png"]


def test_import_integer_labels_orders_score_columns_numerically(tmp_path):
    header = "id,y_true," + ",".join(f"score_{j}" for j in [0, 1, 10, 2, 3, 4, 5, 6, 7, 8, 9, 11])
    row_scores = np.eye(12)[[10, 2]]
    rows = [f"r{i},{y}," + ",".join(str(v) for v in row_scores[i][[0, 1, 10, 2, 3, 4, 5, 6, 7, 8, 9, 11]])
            for i, y in enumerate([10, 3])]
    p = te.import_predictions_csv(_write(tmp_path, "\n".join([header, *rows]) + "\n"))
    assert p.y_true.dtype.kind == "i"
    assert p.y_pred.tolist() == [10, 2]  # argmax over correctly ordered columns


def test_import_binary_and_semicolon_decimal_comma(tmp_path):
    csv = _write(tmp_path, "\ufeffID;Y_TRUE;SCORE\n1;0;0,2\n2;1;0,8\n3;1;0,4\n", "excel.csv")
    p = te.import_predictions_csv(csv)
    assert p.y_pred.tolist() == [0, 1, 0] and p.ids.tolist() == ["1", "2", "3"]


def test_import_reports_rows_and_columns(tmp_path):
    csv = _write(tmp_path, "id,y_true,y_pred,score_cat,score_dog\n"
                           "a,cat,dog,0.2,0.8\n"
                           "b,cat,,0.9,oops\n"
                           "a,dog,dog,0.1,0.9\n")
    with pytest.raises(DataError) as exc:
        te.import_predictions_csv(csv)
    msg = str(exc.value)
    assert "header = row 1" in msg
    assert "row 3, column 'y_pred' (C): empty" in msg
    assert "row 3, column 'score_dog' (E): 'oops' is not a number" in msg
    assert "row 4: id 'a' repeats row 2" in msg

    unknown = _write(tmp_path, "id,y_true,y_pred,score_cat,score_dog\na,cat,cow,0.2,0.8\n", "u.csv")
    with pytest.raises(DataError, match=r"row 2, column 'y_pred' \(C\): label 'cow' is not one of the classes"):
        te.import_predictions_csv(unknown)
    with pytest.raises(DataError, match="needs columns 'id' and 'y_true'.*'label'"):
        te.import_predictions_csv(_write(tmp_path, "id,label,pred\n1,0,0\n", "m.csv"))
    with pytest.raises(DataError, match="row 2, column D: value '7' but the header names only 3 columns"):
        te.import_predictions_csv(_write(tmp_path, "id,y_true,y_pred\n1,0,0,7\n", "x.csv"))
