import io
import zipfile

import pytest

from tfedge.edge.card import (
    ModelCard,
    embed_card,
    parse_labels,
    read_embedded_card,
    strip_embedded,
)

FAKE_FLATBUFFER = b"\x1c\x00\x00\x00TFL3" + bytes(range(256)) * 4


def make_card(**changes):
    card = ModelCard(labels=["cat", "dog"], input_size=(28, 28), color_order="GRAY")
    return card.replace(**changes)


def test_json_round_trip_keeps_every_field():
    card = make_card(mean=[127.5], std=[127.5], quantization="int8", provenance={"run": "x"})
    assert ModelCard.from_json(card.to_json()) == card


def test_embed_then_read_gives_the_card_and_keeps_the_flatbuffer_first():
    card = make_card()
    model = embed_card(FAKE_FLATBUFFER, card)
    assert model.startswith(FAKE_FLATBUFFER)
    assert read_embedded_card(model) == card
    # an ordinary zip reader sees labels.txt too
    with zipfile.ZipFile(io.BytesIO(model)) as archive:
        assert archive.read("labels.txt").decode().split() == ["cat", "dog"]


def test_embedding_twice_replaces_the_card_instead_of_stacking():
    once = embed_card(FAKE_FLATBUFFER, make_card())
    twice = embed_card(once, make_card(labels=["a", "b"]))
    assert strip_embedded(twice) == FAKE_FLATBUFFER
    assert read_embedded_card(twice).labels == ["a", "b"]


def test_a_model_without_card_reads_as_none():
    assert read_embedded_card(FAKE_FLATBUFFER) is None


@pytest.mark.parametrize("text", ["0 cat\n1 dog\n", "0:cat\n1:dog\n", "cat\ndog\n",
                                  "1 dog\n0 cat\n", "\ncat\n\ndog\n"])
def test_labels_txt_formats(text):
    assert parse_labels(text) == ["cat", "dog"]


def test_labels_with_spaces_keep_them():
    assert parse_labels("0 ankle boot\n1 t-shirt top\n") == ["ankle boot", "t-shirt top"]


@pytest.mark.parametrize("bad", ['{"labels": ["a"]}', "[1, 2]", "not json",
                                 '{"labels": ["a"], "input_size": [28, 28], "color_order": "XYZ"}'])
def test_bad_card_json_raises_value_error(bad):
    with pytest.raises(ValueError):
        ModelCard.from_json(bad)
