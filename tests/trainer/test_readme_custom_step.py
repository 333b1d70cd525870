"""The README's "Custom training steps" example runs as written and trains."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_readme_custom_train_step_runs(capsys):
    text = README.read_text()
    section = text[text.index("### Custom training steps"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert capsys.readouterr().out.strip() == "['loss', 'mae']"
    hist = scope["history"].history
    assert len(hist["loss"]) == 3 and hist["loss"][-1] < hist["loss"][0]
