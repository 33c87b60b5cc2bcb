"""The quick field-count check of unquoted CSV text answers exactly what csv.reader's line-by-line check
answers (the first ragged line, its number and its field count), on generated texts with empty lines, short and
long lines, LF and CRLF endings; and a real file with a quote still goes the csv.reader way."""

import csv
import io
import random

from outscaled.ingest.readers import _csv_problem, _unquoted_field_count_problem


def _by_csv_reader(name: str, text: str) -> str | None:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    for row in reader:
        if row and len(row) != len(header):
            return f"{name}: line {reader.line_num}: expected {len(header)} fields as in the header, found {len(row)}"
    return None


def _text(rng: random.Random) -> str:
    fields = rng.randint(1, 5)
    lines = [",".join("h" * rng.randint(1, 2) for _ in range(fields))]
    for _ in range(rng.randint(0, 6)):
        count = rng.choice([fields, fields, fields, fields - 1, fields + 1, 0])
        lines.append(",".join("v" * rng.randint(0, 2) for _ in range(count)) if count > 0 else "")
    ending = rng.choice(["\n", "\r\n"])
    return ending.join(lines) + rng.choice(["", ending])


def test_the_quick_check_answers_as_csv_reader():
    rng = random.Random(20261207)
    texts = [_text(rng) for _ in range(5000)]
    assert any(_by_csv_reader("f.csv", t) for t in texts) and any(_by_csv_reader("f.csv", t) is None for t in texts)
    for text in texts:
        assert _unquoted_field_count_problem("f.csv", text) == _by_csv_reader("f.csv", text), repr(text)


def test_quoted_text_is_read_by_csv_reader(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('team,kills\n"Gen.G, Esports",12\n"T1",9,extra\n')
    # the comma inside quotes is not a field separator: line 2 is fine, line 3 has a field too many
    assert _csv_problem(path, "quoted.csv") == "quoted.csv: line 3: expected 2 fields as in the header, found 3"
