"""What one upload may cost the server (issue 14): each hostile file of the upload-cost corpus is refused with a
sentence naming the file, the limit and what to do, as soon as the reader sees it; previews are bounded in
characters; nothing raises anything but a DataError (core/data/limits.py, readers/, parquet.py, hub.py)."""

from __future__ import annotations

import json

import pytest

from core.data.errors import DataError
from core.data.limits import PREVIEW_ROW_CHARS, LoadLimits, clip_strings
from core.data.load import load_file, preview_rows

DEEP = 100_000  # the prober's file: "maximum recursion depth exceeded" as a raw toast


def _refusal(path, **kwargs) -> str:
    with pytest.raises(DataError) as info:  # a DataError, never a RecursionError, MemoryError or pyarrow error
        load_file(path, **kwargs)
    return str(info.value)


def _parquet(path, table, **kwargs):
    import pyarrow.parquet as pq

    pq.write_table(table, path, **kwargs)
    return path


def test_a_tiny_parquet_of_a_million_rows_is_refused_from_its_metadata(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = _parquet(tmp_path / "million.parquet", pa.table({"text": ["hi"] * 1_000_000}))
    assert path.stat().st_size < 100_000  # a few KB on disk
    batches = []
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", lambda *a, **k: batches.append(1) or iter(()))
    message = _refusal(path)
    assert "million.parquet has 1,000,000 rows" in message and "limit of 200,000 rows" in message
    assert "SFT_COACH_MAX_LOAD_ROWS" in message and "sample" in message
    assert batches == []  # refused before a single row was read


def test_a_parquet_repeating_one_huge_string_is_measured_without_decoding_it(tmp_path):
    import pyarrow as pa

    huge = pa.DictionaryArray.from_arrays(pa.array([0] * 100_000, pa.int32()), pa.array(["y" * 1_000_000]))
    path = _parquet(tmp_path / "bomb.parquet", pa.table({"text": huge}), dictionary_pagesize_limit=1 << 30)
    assert path.stat().st_size < 1_000_000  # 100 GB of text once decoded
    message = _refusal(path)
    assert "bomb.parquet would take more than 512 MB of memory once read" in message
    assert "SFT_COACH_MAX_DECODED_MB" in message


def test_parquet_nested_too_deeply_is_refused_with_the_same_sentence(tmp_path):
    import pyarrow as pa

    value, kind = ["x"], pa.list_(pa.string())
    for _ in range(70):
        value, kind = [value], pa.list_(kind)
    path = _parquet(tmp_path / "deep.parquet", pa.table({"a": pa.array([value], kind)}))
    assert "deep.parquet, its columns: it nests lists and objects more than 64 levels deep" in _refusal(path)


def test_one_50_mb_line_is_refused_before_it_is_parsed_and_the_preview_passes_over_it(tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_text('{"text": "' + "x" * 50_000_000 + '"}\n{"text": "short"}\n')
    message = _refusal(path)
    assert "long.jsonl, line 1: this one row is 47.7 MB" in message and "limit of 1 MB for one row" in message
    assert "split its text into several rows" in message and "SFT_COACH_MAX_ROW_MB" in message
    assert preview_rows(path, 5) == [{"text": "short"}]


def test_a_huge_cell_in_csv_and_in_a_json_list_is_refused_with_its_row(tmp_path):
    (tmp_path / "long.csv").write_text('prompt,completion\nHi,"' + "x" * 3_000_000 + '"\n')
    assert "long.csv, line 2: this one row is 2.9 MB" in _refusal(tmp_path / "long.csv")
    (tmp_path / "long.json").write_text(json.dumps([{"text": "ok"}, {"text": "x" * 3_000_000}]))
    assert "long.json, item 2: this one row is 2.9 MB" in _refusal(tmp_path / "long.json")


@pytest.mark.parametrize("suffix", ["json", "jsonl"])
def test_json_nested_100000_deep_is_refused_with_a_sentence(tmp_path, suffix):
    path = tmp_path / f"deep.{suffix}"
    deep = "[" * DEEP + "]" * DEEP
    path.write_text(deep if suffix == "json" else '{"text": "fine"}\n{"a": ' + deep + "}\n")
    message = _refusal(path)
    where = "the document" if suffix == "json" else "line 2"
    assert f"deep.{suffix}, {where}: it nests lists and objects more than 64 levels deep" in message
    assert "recursion" not in message.lower()
    if suffix == "json":
        with pytest.raises(DataError, match="more than 64 levels deep"):
            preview_rows(path, 5)
    else:
        assert preview_rows(path, 5) == [{"text": "fine"}]  # the preview passes over the line; the load names it


def test_nesting_just_past_the_limit_is_refused_and_at_the_limit_loads(tmp_path):
    def nested(depth: int) -> str:  # a row object holding lists: ``depth`` levels in all
        return '{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}\n"

    (tmp_path / "ok.jsonl").write_text(nested(64))
    assert load_file(tmp_path / "ok.jsonl").n_rows == 1
    (tmp_path / "deep.jsonl").write_text(nested(65))
    assert "line 1: it nests lists and objects more than 64 levels deep" in _refusal(tmp_path / "deep.jsonl")
    (tmp_path / "deep.json").write_text("[" + nested(65) + "]")  # parsed fine by orjson, refused by the walk
    assert "deep.json, item 1: it nests" in _refusal(tmp_path / "deep.json")


def test_a_json_list_of_millions_of_tiny_objects_is_refused_before_parsing(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text("[" + ",".join(["{}"] * 3_000_000) + "]")  # 9 MB of text, ~600 MB of Python objects
    message = _refusal(path)
    assert "tiny.json would take about 581 MB of memory once read" in message and "limit of 512 MB" in message


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_the_row_limit_stops_jsonl_and_csv_while_streaming(tmp_path, monkeypatch, suffix):
    monkeypatch.setenv("SFT_COACH_MAX_LOAD_ROWS", "10")
    path = tmp_path / f"rows.{suffix}"
    if suffix == "jsonl":  # line 12 is too big: a reader that went on past row 10 would complain about it instead
        path.write_text('{"text": "a"}\n' * 11 + '{"text": "' + "x" * 2_000_000 + '"}\n')
    else:
        path.write_text("text\n" + "a\n" * 11 + "x" * 2_000_000 + "\n")
    message = _refusal(path)
    assert f"rows.{suffix} has more than 10 rows, above this app's limit of 10 rows" in message
    monkeypatch.setenv("SFT_COACH_MAX_LOAD_ROWS", "11")
    assert "this one row is 1.9 MB" in _refusal(path)


def test_the_decoded_size_limit_names_where_it_stopped(tmp_path, monkeypatch):
    monkeypatch.setenv("SFT_COACH_MAX_DECODED_MB", "1")
    path = tmp_path / "many.jsonl"
    line = '{"text": "' + "x" * 1000 + '"}\n'
    path.write_text(line * 2_000)  # 2 MB
    stop = 2**20 // (len(line) + 200) + 1  # each row: its text and one object (OBJECT_BYTES)
    message = _refusal(path)
    assert f"many.jsonl would take more than 1 MB of memory once read (counted up to line {stop})" in message


def test_limits_come_from_the_environment_and_zero_turns_one_off(monkeypatch):
    assert LoadLimits.from_env() == LoadLimits(max_rows=200_000, max_decoded_mb=512, max_row_mb=1)
    monkeypatch.setenv("SFT_COACH_MAX_LOAD_ROWS", "0")
    monkeypatch.setenv("SFT_COACH_MAX_DECODED_MB", "2048")
    monkeypatch.setenv("SFT_COACH_MAX_ROW_MB", "nonsense")  # a typo keeps the default
    assert LoadLimits.from_env() == LoadLimits(max_rows=0, max_decoded_mb=2048, max_row_mb=1)


def test_a_file_with_thousands_of_columns_is_refused(tmp_path):
    path = tmp_path / "wide.jsonl"
    path.write_text(json.dumps({f"c{i}": 1 for i in range(1_001)}) + "\n")
    assert "wide.jsonl has 1,001 different columns" in _refusal(path)


def test_a_hub_split_above_the_row_limit_is_refused_with_a_slice_to_type(monkeypatch):
    import datasets

    import core.data.from_hub as hub

    monkeypatch.setenv("SFT_COACH_MAX_LOAD_ROWS", "10")
    monkeypatch.setattr(hub, "check_hub_dataset", lambda *a, **k: None)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_dict({"text": ["a"] * 11}))
    with pytest.raises(DataError) as info:
        hub.load_hub("someone/big")
    assert "'someone/big' (split 'train') has 11 rows" in str(info.value) and "train[:10]" in str(info.value)


# ---- previews ----


def _draft(rows: list[dict]):
    from core.data.load import loaded_from_rows
    from core.data.wizard import draft_dataset

    return draft_dataset(loaded_from_rows(rows, "huge.jsonl"), "huge")


def test_previews_of_a_huge_cell_are_bounded_and_escaped():
    from ui.data_outputs import first_rows
    from ui.data_views import render_converted_rows

    huge = "<script>alert(1)</script>" + "x" * 5_000_000
    draft = _draft([{"prompt": huge, "completion": huge}, {"prompt": "Hi", "completion": "Yo"}])
    table, converted = first_rows(draft), render_converted_rows(draft)
    assert len(table.encode()) < 5_000  # two 240-character cells per row, two rows
    assert len(converted.encode()) < 2 * PREVIEW_ROW_CHARS + 5_000
    for html in (table, converted):
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert "more characters)" in html


def test_the_table_of_first_rows_shows_at_most_20_columns():
    from ui.data_views import render_rows_table

    html = render_rows_table([{f"c{i}": i for i in range(500)}], [f"c{i}" for i in range(500)], "First rows")
    assert html.count("<th>") == 20 and "480 more columns" in html


def test_the_training_preview_keeps_the_start_and_end_of_a_very_long_row():
    from core.data.preview import RenderedRow, render_preview_html

    text = "<b>" + "word " * 100_000 + "the end<|im_end|>"
    row = RenderedRow(1, [0], [0], [("prompt ", False), (text, True)])
    html = render_preview_html([row])
    assert len(html) < PREVIEW_ROW_CHARS + 5_000 and "more characters)" in html
    assert "the end&lt;|im_end|&gt;" in html and "&lt;b&gt;" in html and "<b>word" not in html


def test_clip_strings_never_changes_the_row_it_cuts():
    row = {"messages": [{"role": "user", "content": "x" * 5_000}]}
    clipped = clip_strings(row, 100)
    assert len(row["messages"][0]["content"]) == 5_000
    assert clipped["messages"][0]["content"] == "x" * 100 + "… (4,900 more characters)"
