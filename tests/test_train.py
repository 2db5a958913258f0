"""The training harness: IDX loading, a tiny run, determinism, resume after an interruption, errors."""

import gzip
import json
import math

import numpy as np
import pytest

from skanalyze.analyses import ranking
from skanalyze.core.errors import SkanalyzeError
from skanalyze.nn import data as datasets

from .conftest import TORCH_REASON


@pytest.fixture(scope="module")
def T():
    """The training harness (skanalyze.nn.train); tests that use it are skipped when torch is absent."""
    pytest.importorskip("torch", reason=TORCH_REASON)
    from skanalyze.nn import train

    return train


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory):
    """A tiny IDX dataset: class c images are bright in row band c (learnable), gzipped train, raw test."""
    root = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(0)

    def make(n):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(labels):
            images[i, 2 * c + 4 : 2 * c + 7, :] += 150
        return images, labels

    tr_x, tr_y = make(256)
    te_x, te_y = make(128)
    datasets.write_idx(root / "train-images-idx3-ubyte.gz", tr_x)
    datasets.write_idx(root / "train-labels-idx1-ubyte.gz", tr_y)
    datasets.write_idx(root / "t10k-images-idx3-ubyte", te_x)
    datasets.write_idx(root / "t10k-labels-idx1-ubyte", te_y)
    return root


def test_idx_round_trip(idx_dir):
    ds = datasets.load(idx_dir)
    assert ds.train_images.shape == (256, 28, 28) and ds.test_images.shape == (128, 28, 28)
    assert ds.train_labels.dtype == np.int64 and ds.classes == 10
    limited = datasets.load(idx_dir, limit_train=100, limit_test=10)
    assert len(limited.train_images) == 100 and len(limited.test_labels) == 10
    assert np.array_equal(limited.train_images, ds.train_images[:100])


def test_idx_errors(tmp_path, idx_dir):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x02")
    with pytest.raises(SkanalyzeError, match="truncated"):
        datasets.read_idx(tmp_path / "train-images-idx3-ubyte")
    (tmp_path / "bad").write_bytes(b"GIF89a")
    with pytest.raises(SkanalyzeError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "bad")
    with pytest.raises(SkanalyzeError, match="lacks train-labels-idx1-ubyte, t10k-images-idx3-ubyte"):
        datasets.load(tmp_path)


def test_missing_default_dataset_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "DEFAULT_DIR", tmp_path / "nowhere")
    with pytest.raises(SkanalyzeError) as err:
        datasets.load()
    assert "apt-get install -y dataset-fashion-mnist" in str(err.value) and "\n" not in str(err.value)


def config(T, idx_dir, out, **kw):
    base = dict(
        designs=("dw-pw", "standard"),
        budget=3000,
        epochs=1,
        seeds=1,
        batch_size=64,
        data=str(idx_dir),
        device="cpu",
        out=str(out),
    )
    base.update(kw)
    return T.Config(**base)


def test_progress_bar_on_a_terminal_and_a_line_per_run_otherwise(T, idx_dir, tmp_path, capsys):
    lines = []
    T.run(config(T, idx_dir, tmp_path / "quiet", designs=("dw-pw",)), progress=False, log=lines.append)
    assert lines == ["finished DW+PW seed 0 (1/1): accuracy " + lines[0].split("accuracy ")[1]]
    assert lines[0].endswith("%")
    capsys.readouterr()
    lines.clear()
    T.run(config(T, idx_dir, tmp_path / "bar", designs=("dw-pw",)), progress=True, log=lines.append)
    err = capsys.readouterr().err
    assert not lines and "img/s" in err and "100%" in err  # rich's bar, forced on


def test_results_never_mix_across_data(T, idx_dir, tmp_path):
    """The same --out, the same settings, other data: trained again, not read back from the first run."""
    import shutil

    other = tmp_path / "other-data"
    shutil.copytree(idx_dir, other)
    labels = other / "t10k-labels-idx1-ubyte"
    raw = bytearray(labels.read_bytes())
    raw[8:] = bytes((b + 1) % 10 for b in raw[8:])  # every test label changed
    labels.write_bytes(bytes(raw))
    out = tmp_path / "shared"
    first = T.run(config(T, idx_dir, out, designs=("dw-pw",)), progress=False, log=lambda m: None)
    second = T.run(config(T, other, out, designs=("dw-pw",)), progress=False, log=lambda m: None)
    files = sorted(out.glob("*.json"))
    assert len(files) == 2  # one result per data set
    data = {json.loads(f.read_text())["run"]["data"] for f in files}
    assert len(data) == 2
    assert first["designs"][0]["accuracies"] != second["designs"][0]["accuracies"]  # measured on other labels


def test_tiny_run_outputs(T, idx_dir, tmp_path):
    summary = T.run(config(T, idx_dir, tmp_path / "r"), progress=False)
    names = {r["design"] for r in summary["designs"]}
    assert names == {"DW+PW", "Conv"}
    for r in summary["designs"]:
        assert 0 <= r["accuracy_mean"] <= 1 and r["seeds"] == 1 and r["params"] <= 3000
    widths = {r["design"]: r["width"] for r in summary["designs"]}
    assert widths["DW+PW"] > widths["Conv"]  # the sparse design buys a wider network
    assert [r["predicted_rank"] for r in summary["designs"]] == [1, 2]
    assert "spearman" in summary and "ordering_holds" in summary
    files = sorted((tmp_path / "r").glob("*.json"))
    assert len(files) == 2 and all(json.loads(f.read_text())["status"] == "ok" for f in files)


def test_same_seed_same_accuracy(T, idx_dir, tmp_path):
    a = T.run(config(T, idx_dir, tmp_path / "a", designs=("dw-pw",)), progress=False)
    b = T.run(config(T, idx_dir, tmp_path / "b", designs=("dw-pw",)), progress=False)
    assert a["designs"][0]["accuracies"] == b["designs"][0]["accuracies"]


@pytest.mark.slow
def test_accelerated_path_runs_every_kind_of_module(T, idx_dir, tmp_path, monkeypatch):
    """The CUDA path (bfloat16 autocast, channels_last) exercised on CPU: shuffles, masked and gathered weights."""
    calls = []
    monkeypatch.setattr(T, "accelerated", lambda device: calls.append(device) or True)
    designs = ("gconv-pwgconv", "hetconv", "scc", "line", "pwgconv-dw-pwgconv")
    cfg = config(T, idx_dir, tmp_path / "fast", designs=designs, budget=20000, limit_train=96, limit_test=64)
    summary = T.run(cfg, progress=False)
    assert calls and len(summary["designs"]) == len(designs)
    for row in summary["designs"]:
        assert not row.get("failed") and 0 <= row["accuracy_mean"] <= 1, row


def test_resume_after_interruption(T, idx_dir, tmp_path, monkeypatch):
    out = tmp_path / "resume"
    cfg = config(T, idx_dir, out, seeds=2, designs=("dw-pw",))
    real = T.train_one
    calls = []

    def interrupted(p, seed, *args, **kw):
        if calls:
            raise KeyboardInterrupt  # Ctrl-C during the second run
        calls.append(seed)
        return real(p, seed, *args, **kw)

    monkeypatch.setattr(T, "train_one", interrupted)
    with pytest.raises(KeyboardInterrupt):
        T.run(cfg, progress=False)
    files = list(out.glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["status"] == "ok"  # consistent, complete
    assert not list(out.glob(".*tmp"))
    monkeypatch.setattr(T, "train_one", lambda p, seed, *a, **k: calls.append(seed) or real(p, seed, *a, **k))
    summary = T.run(cfg, progress=False)
    assert calls == [0, 1]  # only the unfinished seed ran again
    assert summary["designs"][0]["seeds"] == 2


def test_nan_loss_stops_the_run(T, idx_dir, tmp_path):
    summary = T.run(
        config(T, idx_dir, tmp_path / "nan", designs=("dw-pw",), lr=1e30), progress=False, log=lambda m: None
    )
    row = summary["designs"][0]
    assert row["accuracy_mean"] is None and "loss became" in row["failed"][0]
    lines = []
    T.run(config(T, idx_dir, tmp_path / "nan", designs=("dw-pw",), lr=1e30), progress=False, log=lines.append)
    assert len(lines) == 1 and "failed before and is not retried" in lines[0] and "delete" in lines[0]


def test_labels_beyond_the_classes_are_refused_before_training(T, idx_dir, tmp_path):
    import shutil

    other = tmp_path / "eleven"
    shutil.copytree(idx_dir, other)
    labels = other / "t10k-labels-idx1-ubyte"
    raw = bytearray(labels.read_bytes())
    raw[8] = 10
    labels.write_bytes(bytes(raw))
    with pytest.raises(SkanalyzeError, match="labels 0..10; the 28x28 layout classifies 10 classes"):
        T.run(config(T, other, tmp_path / "r11"), progress=False, log=lambda m: None)
    assert not list((tmp_path / "r11").glob("*.json"))


def _slope_by_polyfit(widths, acc):
    """The blocked slope written plainly: per seed, the least-squares slope of accuracy (points) on log2(width);
    their mean (the same as the pooled slope, as every seed sees the same widths)."""
    acc = np.asarray(acc, dtype=float)
    return float(np.mean([np.polyfit(np.log2(widths), 100 * acc[:, s], 1)[0] for s in range(acc.shape[1])]))


def test_width_test_against_a_brute_force():
    """3 designs x 2 seeds: every one of the 6^2 within-seed permutations enumerated plainly in the test."""
    import itertools

    widths = [16, 32, 64]
    acc = [[0.80, 0.82], [0.83, 0.81], [0.86, 0.85]]
    result = ranking.width_test(widths, acc)
    observed = _slope_by_polyfit(widths, acc)
    assert result["slope"] == pytest.approx(observed)
    slopes = []
    for p0, p1 in itertools.product(itertools.permutations(range(3)), repeat=2):
        per_seed = [
            np.polyfit(np.log2([widths[i] for i in perm]), [100 * acc[d][s] for d in range(3)], 1)[0]
            for s, perm in enumerate((p0, p1))
        ]
        slopes.append(np.mean(per_seed))
    expected = sum(s >= observed - 1e-9 for s in slopes) / len(slopes)
    assert result["p_value"] == pytest.approx(expected) and result["method"].startswith("exact (36")
    assert result["verdict"] == ("supports" if expected < 0.05 else "inconclusive")


@pytest.mark.slow
def test_width_test_verdicts_and_ties():
    rng = np.random.default_rng(1)
    widths = [20, 28, 40, 56]
    seeds = 6
    rising = [
        [0.80 + 0.01 * np.log2(w) + 0.001 * rng.standard_normal() for _ in range(seeds)] for w in widths
    ]
    falling = [
        [0.90 - 0.01 * np.log2(w) + 0.001 * rng.standard_normal() for _ in range(seeds)] for w in widths
    ]
    flat = [[0.85 + 0.01 * rng.standard_normal() for _ in range(seeds)] for _ in widths]
    assert ranking.width_test(widths, rising)["verdict"] == "supports"
    assert ranking.width_test(widths, falling)["verdict"] == "contradicts"
    assert ranking.width_test(widths, flat)["verdict"] == "inconclusive"
    # equal widths predict no order: the order the designs are listed in does not change the test
    tied_w = [28, 28, 20]
    acc = [[0.81, 0.80, 0.82], [0.79, 0.80, 0.78], [0.78, 0.77, 0.79]]
    a = ranking.width_test(tied_w, acc)
    b = ranking.width_test([tied_w[1], tied_w[0], tied_w[2]], [acc[1], acc[0], acc[2]])
    assert a["slope"] == pytest.approx(b["slope"]) and a["p_value"] == pytest.approx(b["p_value"])


def test_power_table_by_simulation():
    """The seeds the table asks for detect the effect about 80% of the time (simulated, known spread)."""
    widths, sigma, effect = [20, 28, 40, 56], 0.5, 1.0
    n = ranking.seeds_for_power(np.log2(widths), sigma, effect)
    rng = np.random.default_rng(0)
    x = np.log2(widths)
    sxx = ((x - x.mean()) ** 2).sum()
    hits = 0
    reps = 2000
    for _ in range(reps):
        y = effect * x[None, :] + rng.normal(0, 2.0, (n, 1)) + rng.normal(0, sigma, (n, len(x)))
        yc = y - y.mean(axis=1, keepdims=True)
        b = ((x - x.mean())[None, :] * yc).sum() / (n * sxx)
        hits += b / (sigma / np.sqrt(n * sxx)) > 1.6449
    assert 0.78 <= hits / reps <= 0.95


def test_equal_accuracies_are_not_an_ordering():
    rows = [
        {"design": d, "width": w, "accuracies": [0.7705, 0.77, 0.771], "seeds": 3}
        for d, w in (("a", 40), ("b", 20))
    ]
    for r in rows:
        r["accuracy_mean"], r["accuracy_std"] = (
            float(np.mean(r["accuracies"])),
            float(np.std(r["accuracies"], ddof=1)),
        )
    rows[1]["accuracy_mean"] += 1e-16  # float residue of equal means
    assert not ranking.ordering(rows)["ordering_holds"]


def test_spearman_matches_definition():
    assert ranking.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1)
    assert ranking.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1)
    assert ranking.spearman([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert math.isnan(ranking.spearman([1, 2, 3], [5, 5, 5]))


@pytest.mark.parametrize(
    "kw, fragment",
    [
        ({"epochs": 0}, "--epochs"),
        ({"schedule": "linear"}, "--schedule 'linear'"),
        ({"device": "tpu"}, "--device 'tpu'"),
        ({"designs": ()}, "at least one design"),
        ({"lr": -1.0}, "--lr"),
    ],
)
def test_bad_config(T, idx_dir, tmp_path, kw, fragment):
    with pytest.raises(SkanalyzeError, match=fragment):
        config(T, idx_dir, tmp_path, **kw)


@pytest.mark.slow
@pytest.mark.skipif(
    not datasets.DEFAULT_DIR.exists(), reason="Debian's dataset-fashion-mnist is not installed"
)
def test_tiny_run_on_fashion_mnist(T, tmp_path, cli):
    code, out, err = cli(
        "train",
        "--designs",
        "dw-pw,standard",
        "--budget",
        "5k",
        "--epochs",
        "2",
        "--seeds",
        "1",
        "--limit-train",
        "500",
        "--batch-size",
        "32",
        "--limit-test",
        "200",
        "--device",
        "cpu",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert {r["design"] for r in data["designs"]} == {"DW+PW", "Conv"}
    for r in data["designs"]:
        assert {"design", "width", "params", "accuracy_mean", "accuracy_std", "predicted_rank"} <= set(r)
        assert r["accuracy_mean"] > 0.25  # well above chance (0.10) on real data after two short epochs
    assert "spearman" in data and "ordering_holds" in data


def test_cli_missing_data(T, cli, tmp_path):
    code, _, err = cli("train", "--data", str(tmp_path), "--budget", "5k", "--epochs", "1", "--seeds", "1")
    assert code == 2 and "lacks" in err and err.count("\n") == 1


def test_gzip_reader_handles_corruption(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x03abc")[:-5])
    with pytest.raises(SkanalyzeError, match="cannot read IDX file"):
        datasets.read_idx(path)


def test_ctrl_c_says_what_finished_and_how_to_resume(T, idx_dir, tmp_path, monkeypatch):
    calls = []
    real = T.train_one

    def interrupted(p, seed, *args):
        if calls:
            raise KeyboardInterrupt
        calls.append(seed)
        return real(p, seed, *args)

    monkeypatch.setattr(T, "train_one", interrupted)
    lines = []
    with pytest.raises(KeyboardInterrupt):
        T.run(
            config(T, idx_dir, tmp_path / "ctrl-c", seeds=2, designs=("dw-pw",)),
            progress=False,
            log=lines.append,
        )
    assert (
        lines[-1]
        == f"interrupted: 1 of 2 runs finished and saved in {tmp_path / 'ctrl-c'}; the same command resumes from them"
    )


@pytest.mark.slow
def test_shards_in_separate_processes_reproduce_one_process(T, idx_dir, tmp_path):
    """Two shards run as separate processes into one folder; `train summarize` gives exactly the results of
    one process training everything (CPU, deterministic, one thread each)."""
    import subprocess
    import sys

    from skanalyze.analyses.results import summarize

    args = [
        "--designs",
        "dw-pw,standard",
        "--budget",
        "3000",
        "--epochs",
        "1",
        "--seeds",
        "2",
        "--batch-size",
        "64",
        "--data",
        str(idx_dir),
        "--device",
        "cpu",
        "--threads",
        "1",
    ]
    shared = tmp_path / "shared"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "skanalyze", "train", *args, "--out", str(shared), "--shard", f"{i}/2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (1, 2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    assert len(list(shared.glob("*.json"))) == 4 and not list(shared.glob("*.lock"))
    single = T.run(
        config(T, idx_dir, tmp_path / "single", designs=("dw-pw", "standard"), seeds=2, threads=1),
        progress=False,
        log=lambda m: None,
    )
    merged = summarize(shared)
    key = lambda rows: [(r["design"], r["width"], r["params"], r["accuracies"]) for r in rows]  # noqa: E731
    assert key(merged["designs"]) == key(single["designs"])
    assert merged["test"]["slope"] == pytest.approx(single["test"]["slope"])
    assert merged["verdict"] == single["verdict"]


def test_summarize_refuses_mixed_folders_and_a_claimed_run_is_skipped(T, idx_dir, tmp_path):
    import shutil

    from skanalyze.analyses.results import summarize

    out = tmp_path / "mixed"
    T.run(config(T, idx_dir, out, designs=("dw-pw",)), progress=False, log=lambda m: None)
    T.run(config(T, idx_dir, out, designs=("dw-pw",), epochs=2), progress=False, log=lambda m: None)
    with pytest.raises(SkanalyzeError, match="holds 2 experiments .*epochs: 1 vs 2"):
        summarize(out)
    with pytest.raises(SkanalyzeError, match="has no result files"):
        summarize(tmp_path)
    claimed = tmp_path / "claimed"
    cfg = config(T, idx_dir, claimed, designs=("dw-pw",))
    first = T.run(cfg, progress=False, log=lambda m: None)
    path = next(claimed.glob("*.json"))
    shutil.move(path, tmp_path / "moved.json")
    (claimed / (path.name + ".lock")).write_text("4242\n")  # another process is on it
    lines = []
    T.run(cfg, progress=False, log=lines.append)
    assert any("claimed by another process" in line for line in lines) and not path.exists()
    assert first["designs"][0]["accuracy_mean"] is not None


@pytest.mark.slow
def test_seeds_auto_runs_a_pilot_then_what_the_power_table_asks(T, idx_dir, tmp_path):
    """The pilot's residual spread and widths give the seed count (recomputed here from the pilot's files)."""
    from skanalyze.analyses.ranking import seeds_for_power
    from skanalyze.analyses.results import summarize

    out = tmp_path / "auto"
    cfg = config(T, idx_dir, out, designs=("dw-pw", "standard", "pw-dw-pw"), budget=4000)
    with pytest.raises(SkanalyzeError, match=r"seeds are needed, more than 4; the pilot's 3 seeds are kept"):
        T.run_auto(cfg, 0.01, pilot=3, most=4, progress=False, log=lambda m: None)
    pilot = summarize(out)
    assert pilot["config"]["seeds"] == 3
    widths = [r["width"] for r in pilot["designs"]]
    effect = 8.0
    need = seeds_for_power(np.log2(widths), pilot["test"]["residual_sd"], effect)
    lines = []
    summary = T.run_auto(cfg, effect, pilot=3, most=50, progress=False, log=lines.append)
    assert [line for line in lines if line.startswith("--seeds auto")][0].endswith(
        f"asks for {need} seeds to detect 8 point(s) per doubling with 80% power"
    )
    assert summary["config"]["seeds"] == max(need, 3)
    with pytest.raises(SkanalyzeError, match="needs the whole experiment in one process"):
        T.run_auto(T.Config(**{**cfg.__dict__, "shard": (1, 2)}), 1.0, log=lambda m: None)


def test_precision_is_in_the_context_and_bf16_needs_cuda(T, idx_dir, tmp_path, monkeypatch):
    with pytest.raises(SkanalyzeError, match="--precision bf16 is CUDA's autocast"):
        config(T, idx_dir, tmp_path / "x", device="cpu", precision="bf16")
    with pytest.raises(SkanalyzeError, match="--precision 'fp16' is unknown; valid: auto, bf16, fp32"):
        config(T, idx_dir, tmp_path / "x", precision="fp16")
    fast = lambda device: True  # noqa: E731  (the CUDA path, exercised on the CPU)
    monkeypatch.setattr(T, "accelerated", fast)
    auto = T.run(config(T, idx_dir, tmp_path / "auto", designs=("dw-pw",), seeds=1), progress=False)
    fp32 = T.run(
        config(T, idx_dir, tmp_path / "fp32", designs=("dw-pw",), seeds=1, precision="fp32"), progress=False
    )
    assert auto["context"]["precision"] == "bf16 autocast" and fp32["context"]["precision"] == "fp32"
    assert (
        len(
            {p.name for p in (tmp_path / "auto").glob("*.json")}
            | {p.name for p in (tmp_path / "fp32").glob("*.json")}
        )
        == 2
    )


def test_auto_device_warns_when_a_gpu_is_there_but_torch_has_no_cuda(T, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(
        T.shutil, "which", lambda name: "/usr/bin/nvidia-smi" if name == "nvidia-smi" else None
    )
    said = []
    assert T.pick_device("auto", said.append).type == "cpu"
    assert (
        len(said) == 1
        and "an NVIDIA GPU is present but torch" in said[0]
        and "training on the CPU" in said[0]
    )
    with pytest.raises(SkanalyzeError, match="no CUDA device is available .*NVIDIA GPU is present"):
        T.pick_device("cuda")
    monkeypatch.setattr(T.shutil, "which", lambda name: None)
    monkeypatch.setattr(
        T, "Path", lambda p: type("P", (), {"exists": lambda s: False, "is_dir": lambda s: False})()
    )
    said.clear()
    T.pick_device("auto", said.append)
    assert said == []


def test_default_out_is_one_folder_per_experiment(T, idx_dir, tmp_path):
    a = config(T, idx_dir, tmp_path, seeds=2)
    assert T.default_out(a) == T.default_out(config(T, idx_dir, tmp_path, seeds=5))  # more seeds extend it
    assert T.default_out(a) != T.default_out(config(T, idx_dir, tmp_path, seeds=2, epochs=a.epochs + 1))
    assert T.default_out(a) != T.default_out(config(T, idx_dir, tmp_path, seeds=2, limit_train=10))
    assert T.default_out(a).startswith("runs/")


@pytest.mark.parametrize("bn", [False, True])
def test_the_budget_counts_bn_only_with_bn(T, bn):
    # the oracle: the built torch module's parameters, BatchNorm's included or left out by module type
    import torch

    config = T.Config(("dw-pw", "standard"), 20_000, bn=bn)
    assert T.Config(("dw-pw",), 20_000).bn is False  # the default of every command
    for p in T.plan(config):
        module = T.build_model(p, config)
        everything = sum(t.numel() for t in module.parameters())
        bn_params = sum(
            t.numel() for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d) for t in m.parameters()
        )
        assert bn_params > 0  # BN is built either way
        assert p.params == (everything if bn else everything - bn_params) <= 20_000


def test_runs_recorded_before_bn_existed_keep_their_files():
    # results/decisive was trained when the budget always counted BN: the same command with --bn finds
    # every one of its files under the name it had, so a rerun resumes instead of training again
    import glob

    pytest.importorskip("torch", reason=TORCH_REASON)
    from pathlib import Path

    from skanalyze.nn import train as T

    files = sorted(glob.glob(str(Path(__file__).resolve().parent.parent / "results/decisive/*.json")))
    assert len(files) == 20
    for f in files:
        run = json.load(open(f))["run"]
        keys = ("budget", "epochs", "batch_size", "lr", "schedule", "augment", "limit_train", "limit_test")
        config = T.Config(
            (run["design"],),
            out=str(Path(f).parent),
            bn=True,
            blocks=tuple(run["blocks"]),
            **{k: run[k] for k in keys},
        )
        context = {k: run[k] for k in ("data", "device", "precision", "torch")}
        assert T.run_path(config, run["design"], run["seed"], context) == Path(f)
        unbn = T.Config(
            (run["design"],),
            out=str(Path(f).parent),
            blocks=tuple(run["blocks"]),
            **{k: run[k] for k in keys},
        )
        assert T.run_path(unbn, run["design"], run["seed"], context) != Path(f)  # another experiment
