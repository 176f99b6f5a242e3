"""Loading data (core/data/load.py, readers/, hub.py): every bad file in tests/data/bad/ gets a clear message
naming the file and line, or loads correctly; big files load in reasonable time and memory."""

from __future__ import annotations

import copy
import json
import time
import tracemalloc

import pytest

from core.data.errors import DataError
from core.data.load import LoadedData, load_demo, load_file, load_path, load_source, preview_rows
from tests import BAD_DIR


def _error(path, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        load_file(path, **kwargs)
    return str(info.value)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("empty.jsonl", ["empty.jsonl", "empty"]),
        ("header_only.csv", ["header_only.csv", "header row", "question, answer", "no data rows"]),
        ("latin1.csv", ["latin1.csv", "line 3", "0xE9", "UTF-8"]),
        ("object_not_list.json", ["object_not_list.json", "single JSON object", "name", "[ ]"]),
        ("binary.jsonl", ["binary.jsonl", "binary file"]),
        ("gzipped.jsonl", ["gzipped.jsonl", "gzip"]),
        ("utf16.csv", ["utf16.csv", "UTF-16", "UTF-8"]),
        ("mostly_broken.jsonl", ["mostly_broken.jsonl", "line 2", "line 3", "line 4", "JSONL"]),
        ("list_of_strings.json", ["list_of_strings.json", "not of objects"]),
    ],
)
def test_bad_files_are_refused_with_a_message_naming_file_and_problem(name, expected):
    message = _error(BAD_DIR / name)
    for part in expected:
        assert part in message, message


def test_broken_line_in_the_middle_loads_the_others_and_names_the_line():
    data = load_file(BAD_DIR / "broken_line.jsonl")
    assert data.n_rows == 6
    assert [line for line, _ in data.skipped] == [4]
    assert any("line 4" in w and "not valid JSON" in w and "skipped 1" in w for w in data.warnings)
    assert data.row_label(3) == "row 4 (line 5)"  # later rows keep their file line for messages
    with pytest.raises(DataError, match="line 4"):
        load_file(BAD_DIR / "broken_line.jsonl", on_bad_lines="error")


def test_csv_with_bom_and_semicolons_loads_with_multiline_cells():
    data = load_file(BAD_DIR / "bom_semicolon.csv")
    assert data.columns == ["question", "answer", "note"]  # no BOM glued to the first column name
    assert data.rows[0] == {"question": "Wie viel ist 2+2?", "answer": "Vier; genau.", "note": "x"}
    assert data.rows[1]["question"] == "Zwei\nZeilen"
    assert data.row_label(2) == "row 3 (line 5)"


def test_ragged_csv_skips_and_reports_rows_with_the_wrong_number_of_cells():
    data = load_file(BAD_DIR / "ragged.csv")
    assert [r["question"] for r in data.rows] == ["q1", "q4", "q5"]  # q5's trailing separator is fine
    assert [line for line, _ in data.skipped] == [3, 4]
    assert "3 cells" in data.warnings[0] and "1 cell but" in data.warnings[0]


def test_non_object_lines_are_skipped_and_reported():
    data = load_file(BAD_DIR / "not_objects.jsonl")
    assert data.n_rows == 3 and [line for line, _ in data.skipped] == [1, 2]
    assert "a list, not an object" in data.warnings[0]


@pytest.mark.parametrize(
    "name, rows, warning",
    [
        ("wrapped_rows.json", 2, "under 'data'"),
        ("jsonl_named.json", 3, "JSONL"),
        ("column_lists.json", 2, "one list per column"),
    ],
)
def test_json_shapes_that_are_obvious_load_with_a_warning_saying_what_was_done(name, rows, warning):
    data = load_file(BAD_DIR / name)
    assert data.n_rows == rows
    assert any(warning in w for w in data.warnings)


def test_json_object_with_train_and_validation_lists(tmp_path):
    path = tmp_path / "splits.json"
    path.write_text(json.dumps({"train": [{"text": "a"}, {"text": "b"}], "validation": [{"text": "c"}]}))
    data = load_file(path)
    assert data.n_rows == 2 and list(data.validation_rows) == [{"text": "c"}]


def test_invalid_json_document_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"text": "a"},\n  {"text": "b",}\n]')
    message = _error(path)
    assert "bad.json, line 3, column" in message


def test_parquet_loads_and_a_parquet_file_under_a_wrong_name_is_read_as_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}] * 3
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "chat.parquet")
    assert load_file(tmp_path / "chat.parquet").rows == rows
    (tmp_path / "chat.jsonl").write_bytes((tmp_path / "chat.parquet").read_bytes())
    misnamed = load_file(tmp_path / "chat.jsonl")
    assert misnamed.rows == rows and "Parquet" in misnamed.warnings[0]
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    assert "not a readable Parquet file" in _error(tmp_path / "broken.parquet")


def test_size_limit_is_configurable_and_says_how_to_raise_it(tmp_path, monkeypatch):
    path = tmp_path / "big.jsonl"
    path.write_text('{"text": "x"}\n' * 100_000)  # ~1.4 MB
    monkeypatch.setenv("SFT_COACH_MAX_UPLOAD_MB", "1")
    message = _error(path)
    assert "big.jsonl is 1 MB" in message and "limit of 1 MB" in message and "SFT_COACH_MAX_UPLOAD_MB" in message
    monkeypatch.setenv("SFT_COACH_MAX_UPLOAD_MB", "5")
    assert load_file(path).n_rows == 100_000


def test_a_10_mb_single_row_loads_in_jsonl_and_csv_once_the_row_limit_allows_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SFT_COACH_MAX_ROW_MB", "16")  # the default (1 MB) refuses it: tests/test_upload_cost.py
    answer = "word " * 2_000_000  # 10 MB of text in one cell
    (tmp_path / "long.jsonl").write_text(json.dumps({"prompt": "Summarise.", "completion": answer}) + "\n")
    assert len(load_file(tmp_path / "long.jsonl").rows[0]["completion"]) == len(answer)
    (tmp_path / "long.csv").write_text(f'prompt,completion\nSummarise.,"{answer}"\n')  # above csv's 128 KB cell limit
    assert len(load_file(tmp_path / "long.csv").rows[0]["completion"]) == len(answer)
    assert preview_rows(tmp_path / "long.jsonl", 1)[0]["prompt"] == "Summarise."


def test_a_million_tiny_rows_load_detect_and_validate(tmp_path, monkeypatch):
    from core.data.detect import detect_format
    from core.data.validate import validate_rows

    monkeypatch.setenv("SFT_COACH_MAX_LOAD_ROWS", "0")  # an admin's "no limit": the code itself scales

    path = tmp_path / "million.jsonl"
    path.write_text("".join(f'{{"text": "row {i}"}}\n' for i in range(1_000_000)))
    started = time.perf_counter()
    data = load_file(path)
    detection = detect_format(data.rows)
    report = validate_rows(data.rows, detection.format)
    elapsed = time.perf_counter() - started
    assert data.n_rows == 1_000_000 and detection.format == "text" and detection.confidence == 1.0
    assert report.n_trained == 1_000_000 and not report.problems
    print(f"1M rows: load + detect + validate in {elapsed:.1f} s")  # shown with -s; no timing assertion


def _peak_bytes(function) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = function()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["jsonl", "json", "csv", "parquet"])
def test_preview_reads_only_the_start_of_a_huge_file(tmp_path, kind):
    rows = [{"prompt": f"question {i} " + "x" * 200, "completion": f"answer {i}"} for i in range(100_000)]  # ~22 MB
    path = tmp_path / f"huge.{kind}"
    if kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif kind == "json":
        path.write_text(json.dumps(rows))
    elif kind == "csv":
        path.write_text("prompt,completion\n" + "".join(f"{r['prompt']},{r['completion']}\n" for r in rows))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=1000)
    size = path.stat().st_size
    preview, peak = _peak_bytes(lambda: preview_rows(path, 5))
    assert preview == rows[:5]
    assert peak < size / 5, f"preview used {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"


def test_load_path_reads_a_folder_with_train_and_validation_files(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"text": "a"}\n{"text": "b"}\n')
    (tmp_path / "validation.csv").write_text("text\nc\n")
    data = load_path(tmp_path)
    assert data.n_rows == 2 and list(data.validation_rows) == [{"text": "c"}]
    assert "validation.csv as validation" in data.source
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no train file"):
        load_path(tmp_path / "empty")


def test_missing_file_and_unknown_source_say_what_to_check(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_file(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="not an existing file or folder"):
        load_source(str(tmp_path / "nope.jsonl"))


def test_demo_loads_raw_rows_with_its_test_split():
    pytest.importorskip("core.demo_data")
    data = load_demo("word_problems", n_train=20, n_test=5)
    assert data.n_rows == 20 and len(data.validation_rows) == 5
    assert data.columns == ["Question", "Complex_CoT", "Response"]
    with pytest.raises(DataError, match="no built-in demo"):
        load_demo("nope")


def test_loaded_data_is_shared_not_copied_by_deepcopy():
    data = LoadedData(rows=[{"text": "a"}] * 1000, source="x", columns=["text"])
    assert copy.deepcopy(data) is data  # gr.State deep-copies values on every event


def test_hub_fails_fast_and_says_so_when_offline(monkeypatch):
    from core.data.from_hub import load_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(DataError, match="HF_HUB_OFFLINE is set"):
        load_hub("HuggingFaceH4/no_robots")
    assert time.perf_counter() - started < 5


def test_hub_unreachable_gives_an_offline_message_within_seconds(monkeypatch):
    from core.data.from_hub import load_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(DataError, match="seems to be offline"):
        load_hub("HuggingFaceH4/no_robots", timeout=2)


def test_hub_id_typos_are_explained():
    from core.data.from_hub import check_hub_dataset

    with pytest.raises(DataError, match="owner/name"):
        check_hub_dataset("not a/valid/id")
