import base64

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from srmer.bench.experiments.fsr_fer import write_fer_report


def test_fer_report_embeds_tables_and_loss_curves(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([3, 2, 1])
    fig.savefig(tmp_path / "loss_curves.png")
    plt.close(fig)
    table1 = pd.DataFrame({2: [84.5, 83.2], 8: [40.3, 64.2]}, index=["Bicubic", "FSR-FER"])
    path = write_fer_report(
        tmp_path,
        {"table1": table1},
        {"n_train": 10, "n_test": 4, "classes": ["a", "b"], "config": {"seed": 3}},
    )
    html = path.read_text()
    assert "<caption>Table 1 (Jing et al. 2020)" in html and "<table" in html.split("<caption>")[0]
    assert "64.2" in html and "FSR-FER" in html and "&quot;seed&quot;: 3" in html
    b64 = html.split("base64,")[1].split("'")[0]
    assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"
