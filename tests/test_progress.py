"""Progress bars: drawn where someone watches (a terminal, JupyterLab), never into saved outputs."""

from __future__ import annotations

from portrait.pipeline import progress


def test_the_runner_draws_nothing_when_nobody_watches(capsys):
    """Under pytest (as in CI logs) standard error is not a terminal: kernels are told 'off'."""
    assert progress.terminal() == "off"


def test_off_means_a_silent_bar(monkeypatch, capsys):
    monkeypatch.setenv(progress.ENV, "off")
    with progress.bar(5, "réplications") as b:
        for _ in range(5):
            b.update()
    assert capsys.readouterr() == ("", "")


def test_a_bar_is_drawn_on_the_file_the_runner_names(monkeypatch, tmp_path, capsys):
    """make's kernels draw on the terminal file (/dev/tty); here a plain file stands for it."""
    tty = tmp_path / "tty"
    tty.write_text("")
    monkeypatch.setenv(progress.ENV, str(tty))
    with progress.bar(3, "réplications", "rép") as b:
        for _ in range(3):
            b.update()
    drawn = tty.read_text(encoding="utf-8")
    assert "réplications" in drawn and "/3 " in drawn
    assert capsys.readouterr() == ("", "")              # nothing on the notebook's own streams
