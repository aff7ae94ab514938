"""The HTML plan report: one self-contained page, every user string escaped, the same bytes every time."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpl.cli import main
from kpl.engine.features import FeatureGates
from kpl.engine.plan import Plan, load_plan_inputs
from kpl.engine.plan_diff import diff_reports
from kpl.engine.quantity import parse_quantity
from kpl.engine.report import ClusterReport, PlacementReport
from kpl.engine.report_html import render_html

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "fleet"
GATES = "MultiplePodTemplatesScheduling=true,Failover=true,StatefulFailoverInjection=true," \
        "FederatedQuotaEnforcement=true"
OLD_WEB = """policy storefront in namespace shop {
  select apps/v1 Deployment named storefront
  spread by region min 2 max 2
  spread by cluster min 2
  replicas divided static { member1: 1, member2: 2 }
}
"""


class Page(HTMLParser):
    """The parts of a page the tests look at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self.text: list[str] = []
        self.open: list[str] = []
        self.style = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)
        self.ids.extend(value or "" for name, value in attrs if name == "id")
        if tag not in ("meta", "br"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else ''}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "style":
            self.style += data
        else:
            self.text.append(data)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(page: str) -> Page:
    found = Page()
    found.feed(page)
    found.close()
    assert found.open == [], f"unclosed: {found.open}"
    return found


def example_report(tmp_path: Path, *, fail: bool = True, baseline: bool = True) -> PlacementReport:
    gates = FeatureGates.parse(GATES)
    loaded = load_plan_inputs([EXAMPLE / "policies"], [EXAMPLE / "snapshot"], gates)
    inputs = loaded.inputs
    if fail:
        from dataclasses import replace

        inputs = replace(inputs, failed_clusters=("member1",))
    report = Plan.compile(inputs).evaluate()
    if not baseline:
        return report
    old = tmp_path / "old"
    old.mkdir(exist_ok=True)
    for path in (EXAMPLE / "policies").iterdir():
        (old / path.name).write_text(path.read_text())
    (old / "web.kpl").write_text(OLD_WEB)
    base = Plan.compile(load_plan_inputs([old], [EXAMPLE / "snapshot"], gates).inputs).evaluate()
    from dataclasses import replace

    return replace(report, diff=diff_reports(base, report))


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> PlacementReport:
    """The example with a baseline and a failure: every section of the page."""
    return example_report(tmp_path_factory.mktemp("example"))


# ------------------------------------------------------------------------------------ structure


def test_every_section_is_there(full: PlacementReport) -> None:
    page = parse(render_html(full))
    assert page.tags[:1] == ["html"] and "style" in page.tags
    assert {"changes", "placement", "clusters", "quotas", "failover"} <= set(page.ids)
    words = page.words
    assert "1 binding(s) change: 2 replica(s) move from member2 to member1" in words
    assert "shop/storefront-deployment" in words and "streaming/fraud-detector-flinkdeployment" in words
    assert "APIEnablement" in words  # a cluster's reason in the placement table
    assert "streaming/streaming" in words and "cpu used 3 / limit 10" in words
    assert "8f3d2c1b0a99e7f6d5c4b3a291807f6e" in words  # the failover's injected job id
    for cluster in ("member1", "member2", "member3"):
        assert cluster in words
    assert words.count("requested") >= 6  # cpu, memory, pods bars per cluster with a summary


def test_sections_come_and_go_with_the_options(tmp_path: Path) -> None:
    page = parse(render_html(example_report(tmp_path, fail=False, baseline=False)))
    assert "changes" not in page.ids and "failover" not in page.ids
    assert {"placement", "clusters", "quotas"} <= set(page.ids)


def test_utilization_bars_have_widths_and_stay_blue_within_the_limit(full: PlacementReport) -> None:
    page = render_html(full)
    widths = [int(w) for w in re.findall(r'class="fill[^"]*" style="width:(\d+)%"', page)]
    assert widths and all(0 <= w <= 100 for w in widths)
    assert 'class="fill over"' not in page


def test_an_overcommitted_cluster_is_red() -> None:
    free = {"cpu": parse_quantity("2"), "memory": parse_quantity("1Gi"), "pods": parse_quantity("10")}
    requests = {"cpu": parse_quantity("3"), "memory": parse_quantity("1Gi")}
    cluster = ClusterReport("small", 9, ("web/a",), requests, free)
    page = render_html(PlacementReport("policies", {}, (), (cluster,)))
    assert re.findall(r'class="fill ?(\w*)" style="width:(\d+)%"', page) == [("over", "100"), ("high", "100"),
                                                                              ("high", "90")]
    assert "cpu requested 3 / free 2 150%" in parse(page).words


def test_no_external_references(full: PlacementReport) -> None:
    text = render_html(full)
    page = parse(text)
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert not [value for name, value in page.attributes if name in ("src", "href") and value]
    assert "url(" not in page.style and "@import" not in page.style
    assert not re.search(r"https?://", text)


def test_same_report_same_bytes(full: PlacementReport, tmp_path: Path) -> None:
    assert render_html(full) == render_html(example_report(tmp_path))


# ------------------------------------------------------------------------------------ escaping


HOSTILE = '<script>alert("x")</script>&amp;'


def hostile_snapshot(folder: Path) -> Path:
    folder.mkdir()
    cluster = {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "m<b>1"},
               "status": {"resourceSummary": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "10"}}}}
    deployment: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": HOSTILE, "namespace": "ns\"'><i>"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c"}]}}},
    }
    policy = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
              "metadata": {"name": "p<u>", "namespace": "ns\"'><i>"},
              "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
                       "placement": {"clusterAffinity": {"clusterNames": ["</td>"]}}}}
    (folder / "all.yaml").write_text(yaml.safe_dump_all([cluster, deployment, policy]))
    return folder


def test_every_user_string_is_escaped(tmp_path: Path) -> None:
    snapshot = hostile_snapshot(tmp_path / "snapshot")
    loaded = load_plan_inputs([snapshot], [snapshot])
    report = Plan.compile(loaded.inputs).evaluate()
    assert report.bindings and report.bindings[0].failed
    text = render_html(replace_diff(report))
    page = parse(text)
    assert set(page.tags) <= {"html", "head", "meta", "title", "style", "body", "main", "header", "h1", "h2",
                              "h3", "p", "div", "span", "b", "section", "table", "thead", "tbody", "tr", "th",
                              "td", "code", "br", "details", "summary", "ul", "li"}
    words = " ".join(page.text)
    assert HOSTILE in words and "m<b>1" in words and "ns\"'><i>" in words and "p<u>" in words


def replace_diff(report: PlacementReport) -> PlacementReport:
    from dataclasses import replace

    return replace(report, diff=diff_reports(replace(report, bindings=()), report))


# ------------------------------------------------------------------------------------ the command


def test_cli_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.html"
    args = ["plan", str(EXAMPLE / "policies"), "--snapshot", str(EXAMPLE / "snapshot"), "-o", "html"]
    assert main([*args, "--output-file", str(target), "--fail", "member1", "--feature-gates", GATES]) == 0
    first = target.read_bytes()
    assert first.startswith(b"<!DOCTYPE html>") and b'id="failover"' in first
    assert main([*args, "--output-file", str(target), "--fail", "member1", "--feature-gates", GATES]) == 0
    assert target.read_bytes() == first
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")
