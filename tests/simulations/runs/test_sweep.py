"""The sweep: grid expansion, overrides, the t quantile and CI, and real sweeps of the market."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import pytest

from amity.protocol.errors import ScenarioError, UsageError
from amity.simulations.cli import main
from amity.simulations.kinds import KINDS, kind_of
from amity.simulations.runs import plots
from amity.simulations.runs.stats import bootstrap_mean, estimate, t_quantile, wilson
from amity.simulations.runs.sweep import (
    Grid,
    RunOutcome,
    SweepResult,
    execute,
    parse_param,
    parse_setting,
    prepare_sweep,
)
from amity.simulations.runs.sweep_results import SWEEP_FILES, figure_of, write_sweep
from amity.simulations.scenarios.market.scenario import load_scenario

# A sweep small enough for the test suite: 10 persons meet 2 of 10 vendors, well under a second.
TINY = ["--quick", "--param", "population.persons=10,20", "--seeds", "2", "--quiet"]


def run_sweep(out: Path, *extra: str) -> Path:
    assert main(["sweep", "market", *TINY, "--out", str(out), *extra]) == 0
    (folder,) = out.iterdir()
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


# -- the grid ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("20", 20), ("-3", -3), ("0.1", 0.1), ("1e-3", 0.001), ("true", True), ("false", False),
     ("AMITY-SHOP", "AMITY-SHOP"), ("nan", "nan"), ("1_000", 1000)],
)  # fmt: skip
def test_values_are_read_as_toml_would(text: str, value: object) -> None:
    parsed = parse_setting(text)
    assert parsed == value and type(parsed) is type(value)


def test_the_grid_is_every_combination_of_the_values_times_the_seeds() -> None:
    grid = Grid(
        (parse_param("population.persons=10,20"), parse_param("network.loss = 0, 0.05, 0.1")),
        seeds=(4, 5),
    )
    assert grid.runs == 12
    points = grid.points
    assert [p.overrides for p in points[:4]] == [
        {"population.persons": 10, "network.loss": 0},
        {"population.persons": 10, "network.loss": 0.05},
        {"population.persons": 10, "network.loss": 0.1},
        {"population.persons": 20, "network.loss": 0},
    ]
    assert points[4].label == "population.persons=20, network.loss=0.05"
    assert points[4].folder(2) == "04_population.persons=20_network.loss=0.05"
    assert parse_param("network.loss=0,0.05").numeric
    assert not parse_param("population.vendors_per_person=true,2").numeric
    assert Grid((), seeds=(1, 2)).points[0].label == "the scenario as written"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("population.persons", "expected KEY=v1,v2"),
        ("=1,2", "expected KEY=v1,v2"),
        ("network.loss=0,,0.1", "expected KEY=v1,v2"),
        ("network.loss=0,0.1,0", "the values 0 are given twice"),
    ],
)
def test_a_wrong_param_says_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_param(text)


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(UsageError, match=r"network\.loss is given twice"):
        Grid((parse_param("network.loss=0"), parse_param("network.loss=0.1")), seeds=(1,))


# -- overrides ---------------------------------------------------------------------------------


def test_overrides_set_dotted_keys_after_quick_and_before_the_checks() -> None:
    scenario = load_scenario(
        "market",
        quick=True,
        overrides={
            "population.persons": 20,
            "network.loss": 0.1,
            "vendor_policy.0.weight": 5,
            "network.partition.0.fraction": 0.3,
            "population.arrival.hi_ms": 1_000,
            "churn.person.start_online": 1,
        },
    )
    assert scenario.persons == 20 and scenario.vendors == 10  # the rest of [quick] holds
    assert scenario.network.loss == 0.1
    assert scenario.vendor_policies[0].weight == 5
    assert scenario.network.partitions[0].fraction == 0.3
    assert scenario.arrival.describe() == "uniform 0..1000 ms"
    assert scenario.churn["person"].start_online == 1


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("popluation.persons", 1, r"has no 'popluation'; its top-level keys are: churn, "),
        ("population.persns", 1, r"never reads population\.persns \(of population it reads: "
         r"arrival, connect_attempts, .*persons"),
        ("churn.robot.online", 1, r"never reads churn\.robot \(of churn it reads: person, vendor"),
        ("network.partition.0.colour", 1, r"never reads network\.partition\.0\.colour"),
        ("quick.population.persons", 1, r"--quick applies \[quick\] first"),
        ("vendor_policy.7.weight", 1, r"override vendor_policy\.7\.weight: vendor_policy has no 7"),
        ("population.persons.count", 1, r"population\.persons has no 'count'"),
        ("population..persons", 1, r"expected a dotted key"),
        ("population.persons", 2.5, r"population\.persons: expected an integer >= 1, got 2\.5"),
        ("network.loss", "high", r"network\.loss: expected a probability"),
    ],
)  # fmt: skip
def test_a_wrong_override_names_its_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario("market", quick=True, overrides={key: value})


def test_kinds_are_found_by_the_kind_the_file_names(tmp_path: Path) -> None:
    assert kind_of("market") == "market" and "market" in KINDS
    odd = tmp_path / "odd.toml"
    odd.write_text('kind = "lottery"\n')
    with pytest.raises(ScenarioError, match=r"kind 'lottery'; this version runs: .*market"):
        kind_of(odd)


# -- statistics --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [(0.975, 9, 2.262157), (0.975, 1, 12.706205), (0.975, 2, 4.302653), (0.975, 4, 2.776445),
     (0.975, 30, 2.042272), (0.975, 1000, 1.962339), (0.995, 5, 4.032143), (0.95, 10, 1.812461),
     (0.9995, 3, 12.923979), (0.025, 9, -2.262157), (0.5, 7, 0.0)],
)  # fmt: skip
def test_the_t_quantile_matches_the_tables(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-6)


def test_the_t_quantile_refuses_what_is_not_a_quantile() -> None:
    for p, df in ((0.0, 3), (1.0, 3), (0.9, 0)):
        with pytest.raises(UsageError):
            t_quantile(p, df)


def test_mean_std_and_confidence_interval_on_known_numbers() -> None:
    est = estimate([1.0, 2.0, 3.0, 4.0, 5.0])
    assert est.n == 5 and est.mean == 3.0
    assert est.std == pytest.approx(math.sqrt(2.5))
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert est.ci_low == pytest.approx(3 - half, abs=1e-6)
    assert est.ci_high == pytest.approx(3 + half, abs=1e-6)
    same = estimate([0.5, 0.5, 0.5])
    assert (same.std, same.ci_low, same.ci_high) == (0.0, 0.5, 0.5)
    one = estimate([7.0])
    assert (one.n, one.mean, one.std, one.ci_low, one.boot_low) == (1, 7.0, None, None, None)
    assert estimate([]).mean is None


def test_a_bootstrap_interval_stays_within_the_values_where_a_t_interval_goes_below_0() -> None:
    shares = [0.0, 0.0, 0.12]  # a share over three seeds
    est = estimate(shares)
    assert est.ci_low is not None and est.ci_low < 0  # Student t: an impossible share
    assert est.boot_low is not None and est.boot_high is not None
    assert 0.0 <= est.boot_low <= est.mean <= est.boot_high <= 0.12
    assert bootstrap_mean(shares) == (est.boot_low, est.boot_high)  # the same, every time
    assert bootstrap_mean([0.3]) is None


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    # Wilson score intervals at 95 %, as tabulated (Newcombe 1998, Table I, method 3).
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718)],
)  # fmt: skip
def test_wilson_intervals_match_the_tables_and_stay_in_0_1(
    k: int, n: int, low: float, high: float
) -> None:
    interval = wilson(k, n)
    assert interval is not None
    assert interval == pytest.approx((low, high), abs=1e-4)
    assert wilson(0, 5) == (0.0, pytest.approx(0.4345, abs=1e-4))
    assert wilson(5, 5) == (pytest.approx(0.5655, abs=1e-4), 1.0)
    assert wilson(0, 0) is None
    with pytest.raises(UsageError):
        wilson(3, 2)


def test_an_axis_that_spans_decades_is_logarithmic() -> None:
    assert plots.x_scale([0, 10, 100, 1000]) == "symlog"  # K Sybils, 0 included
    assert plots.x_scale([10, 100, 1000]) == "log"
    assert plots.x_scale([0.1, 0.2, 0.4, 0.7]) == "linear"
    assert plots.x_scale([0, 0.01, 0.05]) == "linear"
    assert plots.x_scale([-1, 10, 1000]) == "linear"


# -- real sweeps of the quick market -----------------------------------------------------------


def test_a_sweep_writes_the_same_files_with_one_worker_or_two(tmp_path: Path) -> None:
    two = run_sweep(tmp_path / "two", "--workers", "2")
    one = run_sweep(tmp_path / "one", "--workers", "1")
    assert two.name == one.name and two.name.startswith("market-sweep-")
    assert files_of(two) == files_of(one)  # every byte, PNGs and run folders included

    sweep = json.loads((two / "sweep.json").read_text())
    assert sweep["grid"] == {"population.persons": [10, 20]} and sweep["seeds"] == [1, 2]
    assert sweep["runs_done"] == sweep["runs_total"] == 4 and not sweep["interrupted"]
    assert sweep["crypto"] == "real" and sweep["versions"]["amity"]
    assert "--param population.persons=10,20 --seeds 2 --seed-base 1 --quick" in sweep["command"]
    for run in sweep["runs"]:
        summary = json.loads((two / run["folder"] / "summary.json").read_text())
        assert summary["population"]["persons"] == run["params"]["population.persons"]
        assert summary["seed"] == run["seed"]
        assert summary["agreement_rate"] == round(run["metrics"]["agreement_rate"], 4)

    rows = list(csv.DictReader((two / "aggregate.csv").open()))
    assert list(rows[0]) == [
        "population.persons", "metric", "n", "mean", "std", "ci95_low", "ci95_high",
        "boot95_low", "boot95_high",
    ]  # fmt: skip
    rates = [r for r in rows if r["metric"] == "agreement_rate"]
    assert [r["population.persons"] for r in rates] == ["10", "20"]
    for row in rates:
        values = [
            run["metrics"]["agreement_rate"]
            for run in sweep["runs"]
            if str(run["params"]["population.persons"]) == row["population.persons"]
        ]
        est = estimate(values)
        assert row["n"] == "2" and float(row["mean"]) == pytest.approx(est.mean)
        assert float(row["ci95_low"]) == pytest.approx(est.ci_low)
        assert min(values) <= float(row["boot95_low"]) <= float(row["boot95_high"]) <= max(values)

    report = (two / "report.md").read_text()
    assert "## agreement_rate" in report and "| population.persons | n | mean |" in report
    assert "crypto: **real**" in report and sweep["command"] in report


def test_each_run_of_a_sweep_is_written_again_by_its_own_command(tmp_path: Path) -> None:
    sweep = prepare_sweep("market", [parse_param("population.persons=10")], seeds=1, quick=True)
    result = execute(sweep, tmp_path / "sweep")
    (run_folder,) = [result.folder / o.folder for o in result.outcomes]
    command = (run_folder / "report.md").read_text().split("command: `")[1].split("`")[0]
    assert command == "amity-sim run market.toml --seed 1 --param population.persons=10 --quick"
    argv = [*command.split()[1:], "--out", str(tmp_path / "again"), "--quiet"]
    assert main(argv) == 0
    assert files_of(tmp_path / "again" / run_folder.name) == files_of(run_folder)


def test_plots_are_written_when_matplotlib_is_there(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    folder = run_sweep(tmp_path, "--workers", "1")
    report = (folder / "report.md").read_text()
    for metric in json.loads((folder / "sweep.json").read_text())["metrics"]:
        png = folder / plots.figure_name(metric)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"![{metric}]({png.name})" in report
    assert b"Software" not in (folder / "fig-agreement_rate.png").read_bytes()


def test_a_figure_takes_words_on_its_axis_and_points_without_an_interval(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    curve = plots.Curve(
        "attack.breach_rate=0.1",
        (("A", estimate([0.1, 0.2, 0.3])), ("B", estimate([0.4])), ("C", estimate([]))),
    )
    names = plots.write_plots(
        tmp_path,
        x_label="attack.threat_model",
        x_values=None,
        curves_by_figure={"fraction_breaching_on": [curve], "empty": []},
        caption="test",
    )
    assert names == ["fig-fraction_breaching_on.png", "fig-empty.png"]
    assert all((tmp_path / name).stat().st_size > 1000 for name in names)


def test_both_arms_share_a_figure_and_constant_parameters_go_to_the_caption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    params = [parse_param("attack.sybils=0,10,100"), parse_param("attack.threat_model=A")]
    sweep = prepare_sweep("sybil", params, seeds=2, quick=True)
    outcomes = [
        RunOutcome(
            point.index,
            seed,
            f"runs/{point.index}/{seed}",
            {
                "fraction_breaching_on": 0.05 + 0.01 * seed,
                "fraction_breaching_off": 0.15,
                "abstention_rate_on": 0.0,
            },
            "",
        )
        for point in sweep.grid.points
        for seed in sweep.grid.seeds
    ]
    drawn: list[dict[str, object]] = []
    write_plots = plots.write_plots

    def watched(folder: Path, **kwargs: object) -> list[str]:
        drawn.append(kwargs)
        return write_plots(folder, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(plots, "write_plots", watched)
    folder = tmp_path / "sweep"
    folder.mkdir()
    written = write_sweep(sweep, SweepResult(folder, outcomes))
    assert [n for n in written if n.endswith(".png")] == [
        "fig-fraction_breaching.png",
        "fig-abstention_rate_on.png",
    ]
    (call,) = drawn
    curves = call["curves_by_figure"]
    assert isinstance(curves, dict)
    assert [c.label for c in curves["fraction_breaching"]] == [
        "with local trust",
        "without (uniform pick)",
    ]  # the constant threat model is not in the legend ...
    assert "attack.threat_model=A" in str(call["caption"])  # ... but in the caption
    assert "bootstrap interval of the mean over 2 seeds" in str(call["caption"])
    report = (folder / "report.md").read_text()
    assert report.count("![fraction_breaching](fig-fraction_breaching.png)") == 1
    metrics = ["fraction_breaching_on", "fraction_breaching_off", "abstention_rate_on"]
    assert [figure_of(m, metrics) for m in metrics] == [
        "fraction_breaching",
        "fraction_breaching",
        "abstention_rate_on",
    ]
    assert figure_of("fraction_breaching_on_late", [*metrics, "fraction_breaching_off_late"]) == (
        "fraction_breaching_late"
    )


def test_without_matplotlib_the_report_says_how_to_get_the_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plots, "available", lambda: False)
    sweep = prepare_sweep("market", [parse_param("population.persons=10")], seeds=1, quick=True)
    written = write_sweep(sweep, execute(sweep, tmp_path))
    assert written == list(SWEEP_FILES)
    (folder,) = tmp_path.iterdir()
    assert not list(folder.glob("*.png"))
    report = (folder / "report.md").read_text()
    assert "figures: skipped: matplotlib is not installed; `pip install 'amity[sim]'`" in report


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_writes_the_aggregate_of_the_runs_finished(tmp_path: Path, workers: int) -> None:
    sweep = prepare_sweep("market", [parse_param("population.persons=10,20")], seeds=3, quick=True)

    def interrupt(_outcome: object, done: int) -> None:
        raise KeyboardInterrupt

    result = execute(sweep, tmp_path, workers=workers, on_run=interrupt)
    assert result.interrupted and len(result.outcomes) == 1
    write_sweep(sweep, result)
    summary = json.loads((result.folder / "sweep.json").read_text())
    assert summary["interrupted"] is True and summary["runs_done"] == 1
    assert "interrupted (Ctrl-C)" in (result.folder / "report.md").read_text()
    rows = list(csv.DictReader((result.folder / "aggregate.csv").open()))
    assert sorted({r["n"] for r in rows}) == ["0", "1"]


def test_sweep_command_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = ["--out", str(tmp_path)]
    assert main(["sweep", "market", "--param", "population.persns=1,2", *out]) == 1
    assert "never reads population.persns" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["sweep", "market", "--param", "network.loss", *out])
    assert exited.value.code == 2
    with pytest.raises(SystemExit):
        main(["run", "market", "--param", "network.loss=0,0.1", *out])
    assert "run takes one value per key" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert main(["sweep", "market", *out, "--ray"]) == 2
    assert "pip install 'amity[ray]'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    assert "amity-sim sweep market --param network.loss=" in capsys.readouterr().out


@pytest.mark.slow
def test_a_sweep_on_a_local_ray_writes_what_worker_processes_write(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    on_ray = run_sweep(tmp_path / "ray", "--workers", "1", "--ray")
    in_process = run_sweep(tmp_path / "local", "--workers", "1")
    assert files_of(on_ray) == files_of(in_process)
