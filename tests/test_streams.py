"""bmlib.book.notebooks.coalesce_streams: committed notebooks keep progress bars' final state."""

from bmlib.book.notebooks import coalesce_streams, collapse_stream_text


def test_a_redrawn_progress_bar_keeps_its_final_state():
    text = "\rtrain:  10%|#   | 1/10\rtrain:  50%|##  | 5/10\rtrain: 100%|####| 10/10\n"
    assert collapse_stream_text(text) == "train: 100%|####| 10/10\n"


def test_a_cleared_bar_disappears_and_plain_lines_stay():
    text = "first line\n\repoch 1: 99%\r            \rsecond line\n\r     \r"
    assert collapse_stream_text(text) == "first line\nsecond line\n"
    assert collapse_stream_text("no bars\nat all\n") == "no bars\nat all\n"


def test_consecutive_streams_merge_across_output_boundaries():
    outputs = [
        {"output_type": "stream", "name": "stderr", "text": "\rbar 1/3"},
        {"output_type": "stream", "name": "stderr", "text": "\rbar 3/3\n"},
        {"output_type": "stream", "name": "stdout", "text": "result 42\n"},
        {"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {}},
        {"output_type": "stream", "name": "stderr", "text": "\r   \r"},
    ]
    assert coalesce_streams(outputs) == [
        {"output_type": "stream", "name": "stderr", "text": "bar 3/3\n"},
        {"output_type": "stream", "name": "stdout", "text": "result 42\n"},
        {"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {}},
    ]
    assert outputs[0]["text"] == "\rbar 1/3"  # the input is not modified


def test_a_bars_closing_newline_after_stdout_is_kept():
    # tqdm's final "\n" can arrive after the cell printed its table to stdout; dropping it
    # made nbval's merged stderr differ from a live run's by that newline
    outputs = [
        {"output_type": "stream", "name": "stderr", "text": "\rfits: 1/2\rfits: 2/2"},
        {"output_type": "stream", "name": "stdout", "text": "table\n"},
        {"output_type": "stream", "name": "stderr", "text": "\n"},
    ]
    collapsed = coalesce_streams(outputs)
    assert collapsed == [
        {"output_type": "stream", "name": "stderr", "text": "fits: 2/2"},
        {"output_type": "stream", "name": "stdout", "text": "table\n"},
        {"output_type": "stream", "name": "stderr", "text": "\n"},
    ]
    merged_stderr = "".join(o["text"] for o in collapsed if o["name"] == "stderr")
    assert merged_stderr == "fits: 2/2\n"
