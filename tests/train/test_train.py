import json

from tfedge.edge.card import load_card
from tfedge.run_layout import CARD_FILE, CONFIG_FILE, METRICS_FILE, SAVED_MODEL, SPLIT_FILE
from tfedge.train.fashion_mnist import FOLDER_NAMES


def test_run_folder_holds_model_card_and_metrics(trained_run):
    assert (trained_run / SAVED_MODEL / "saved_model.pb").exists()
    card = load_card(trained_run / CARD_FILE)
    assert card.labels == sorted(FOLDER_NAMES)
    assert card.input_size == (28, 28) and card.color_order == "GRAY"
    assert card.mean == [0.0] and card.std == [1.0]  # scaling lives in the graph
    metrics = json.loads((trained_run / METRICS_FILE).read_text())
    assert 0.0 <= metrics["val_accuracy"] <= 1.0 and metrics["val_images"] == 120
    split = json.loads((trained_run / SPLIT_FILE).read_text())
    assert len(split["train"]) == 480 and len(split["val"]) == 120
    assert not {tuple(x) for x in split["train"]} & {tuple(x) for x in split["val"]}
    config = json.loads((trained_run / CONFIG_FILE).read_text())
    assert config["hparams"]["epochs"] == 3 and config["dataset_files"] == 600


def test_no_partial_folders_are_left_behind(trained_run):
    assert not [p for p in trained_run.parent.iterdir() if p.name.startswith(".")]
