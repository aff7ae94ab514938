"""The placement report as one self-contained HTML page (``kpl plan -o html``).

The page has inline CSS and no script: a summary, the changes against a baseline (``--baseline``), the
placement table with each binding's per-cluster reasons in a ``<details>`` element, per-cluster utilization
bars (what the plan requests against what is free), quota bars (used against the limit), the failover
outcome (``--fail``) and the capacity simulation (``--simulate``). It references no URL, every user string
is escaped, and the same report always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from html import escape

from kpl.engine.plan_diff import FAILING, Flow, PlanDiff
from kpl.engine.plan_failover import FailoverOutcome
from kpl.engine.plan_quota import QuotaOutcome
from kpl.engine.plan_simulate import Simulation
from kpl.engine.quantity import Format, Quantity
from kpl.engine.report import BindingReport, ClusterReport, PlacementReport, explanation_groups
from kpl.engine.scheduler.pipeline import ClusterExplanation
from kpl.engine.scheduler.types import TargetCluster

__all__ = ["render_html"]

_STYLE = """
:root{--ink:#1f2430;--mute:#667085;--line:#e4e7ec;--bg:#f6f7f9;--card:#fff;--ok:#1a7f4b;--okbg:#e3f5ea;
--bad:#b42318;--badbg:#fde8e6;--warn:#a15c07;--warnbg:#fef3dc;--info:#175cd3;--infobg:#e6efff;--bar:#2e90fa}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}h3{font-size:15px;margin:0 0 8px}
.sub{color:var(--mute);margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 16px;
min-width:120px}
.stat b{display:block;font-size:22px}.stat span{color:var(--mute);font-size:12px;text-transform:uppercase}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px;overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--mute);text-transform:uppercase;letter-spacing:.03em;background:#fafbfc}
tr:last-child>td{border-bottom:0}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f2f4f7;padding:1px 5px;
border-radius:4px;overflow-wrap:anywhere}
td:first-child{min-width:200px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;
white-space:nowrap}
.ok{color:var(--ok);background:var(--okbg)}.bad{color:var(--bad);background:var(--badbg)}
.warn{color:var(--warn);background:var(--warnbg)}.info{color:var(--info);background:var(--infobg)}
.muted{color:var(--mute)}
.chip{display:inline-block;border:1px solid var(--line);border-radius:6px;padding:0 6px;margin:1px 4px 1px 0;
white-space:nowrap;background:#fcfcfd}
details{margin-top:6px}summary{cursor:pointer;color:var(--info);font-size:12.5px}
details table{margin-top:6px;font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px}
.meter{margin:8px 0}.meter .label{display:flex;justify-content:space-between;font-size:12.5px}
.track{height:10px;border-radius:5px;background:#eaecf0;overflow:hidden;margin-top:3px}
.fill{height:100%;background:var(--bar);border-radius:5px}
.fill.over{background:var(--bad)}.fill.high{background:#f79009}
.flow{display:flex;align-items:center;gap:10px;margin:4px 0}
.flow .track{flex:1;margin:0}.flow .who{min-width:260px}
.summary{font-size:15px;font-weight:600;margin:0 0 10px}
ul{margin:6px 0;padding-left:20px}
"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _label(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _badge(text: str, tone: str) -> str:
    return f'<span class="badge {tone}">{_e(text)}</span>'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table; ``rows`` hold HTML already escaped."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>'


def _percent(part: Fraction, whole: Fraction) -> Fraction | None:
    return None if whole <= 0 else part / whole * 100


def _meter(name: str, used: str, total: str, ratio: Fraction | None, words: tuple[str, str]) -> str:
    """A labelled bar: ``used`` against ``total`` (empty when unknown); orange past 80 %, red past 100 %."""
    width = 0 if ratio is None else min(100, max(0, round(ratio)))
    tone = "" if ratio is None else "over" if ratio > 100 else "high" if ratio > 80 else ""
    shown = "-" if ratio is None else f"{round(ratio)}%"
    label = (f'<div class="label"><span><b>{_e(name)}</b> {_e(words[0])} {_e(used)} / {_e(words[1])} '
             f'{_e(total)}</span><span>{_e(shown)}</span></div>')
    return (f'<div class="meter">{label}<div class="track" role="img" aria-label="{_e(name)} {_e(shown)}">'
            f'<div class="fill {tone}" style="width:{width}%"></div></div></div>')


# ------------------------------------------------------------------------------------ sections


def _summary(report: PlacementReport) -> str:
    counts = report.summary()
    cards = "".join(f'<div class="stat"><b>{counts[key]}</b><span>{_e(key)}</span></div>'
                    for key in ("bindings", "scheduled", "unchanged", "failed", "unmatched"))
    gates = ", ".join(f"{name}={str(on).lower()}" for name, on in sorted(report.feature_gates.items()))
    sub = f"mode: {report.mode}" + (f" · feature gates: {gates}" if gates else "")
    state = _badge("every binding scheduled", "ok") if report.ok else _badge("some bindings fail", "bad")
    return (f'<header><h1>kpl plan {state}</h1><p class="sub">{_e(sub)}</p>'
            f'<div class="cards">{cards}</div></header>')


def _targets(targets: Sequence[TargetCluster] | None) -> str:
    if targets is None:
        return '<span class="muted">-</span>'
    if not targets:
        return '<span class="muted">(none)</span>'
    chips = []
    for target in targets:
        if target.components:
            text = f"{target.name} (" + ", ".join(f"{c.name}: {c.replicas}" for c in target.components) + ")"
        else:
            text = f"{target.name}: {target.replicas}" if target.replicas else target.name
        chips.append(f'<span class="chip">{_e(text)}</span>')
    return "".join(chips)


def _result(binding: BindingReport) -> str:
    if binding.error is not None:
        return f"{_badge(binding.error.type, 'bad')} {_e(binding.error.message)}"
    if binding.trigger is None:
        return f'{_badge("unchanged", "info")} <span class="muted">the current result stays</span>'
    return _badge(f"scheduled: {binding.trigger}", "ok")


def _why(found: ClusterExplanation) -> str:
    if found.skipped_deleting:
        return _badge("being deleted", "warn")
    if found.filter_plugin:
        return f"{_badge(found.filter_plugin, 'bad')} {_e(found.reason)}"
    if not found.selected:
        return _badge("not selected", "warn") if found.score is not None else "-"
    return _badge("selected", "ok") if found.replicas is not None else _badge("selected, no replicas", "info")


def _reasons(binding: BindingReport) -> str:
    if not binding.explanations:
        return ""
    rows = [[_e(f.name), _why(f), _e(_dash(f.score)), _e(_dash(f.available_replicas)), _e(_dash(f.replicas))]
            if count == 1 else [_e(f"{count} clusters"), _why(f), "-", "-", "-"]
            for f, count in explanation_groups(binding.explanations)]
    lost = "".join(f"<li>{_e(kind)} <code>{_e(_label(ns, name))}</code> lost: {_e(why)}</li>"
                   for kind, ns, name, why in (binding.policy.lost if binding.policy else ()))
    table = _table(("cluster", "outcome", "score", "available replicas", "replicas"), rows)
    opened = " open" if binding.failed else ""
    return (f"<details{opened}><summary>why: {len(binding.explanations)} cluster(s)</summary>{table}"
            + (f"<ul>{lost}</ul>" if lost else "") + "</details>")


def _dash(value: object) -> object:
    return "-" if value is None or value == "" else value


def _placements(report: PlacementReport) -> str:
    rows = []
    for b in report.bindings:
        policy = _e(b.policy) if b.policy is not None else '<span class="muted">-</span>'
        rows.append([f"<code>{_e(_label(b.namespace, b.name))}</code><br>"
                     f'<span class="muted">{_e(b.resource)}</span>', policy,
                     _targets(b.clusters), f"{_result(b)}{_reasons(b)}"])
    body = _table(("binding", "policy", "clusters", "result and reasons"), rows) if rows else \
        '<p class="muted">no bindings</p>'
    unmatched = "".join(f"<li><code>{_e(r)}</code></li>" for r in report.unmatched)
    if unmatched:
        body += f'<h3 style="margin-top:14px">No policy matches</h3><ul>{unmatched}</ul>'
    return _section("Placement", f'<div class="panel">{body}</div>', "placement")


def _resource_meter(name: str, requested: Quantity | None, free: Quantity | None) -> str:
    used = requested if requested is not None else Quantity.from_int(0, _format(free))
    if free is None:
        return _meter(name, str(used), "unknown", None, ("requested", "free"))
    return _meter(name, str(used), str(free), _percent(used.amount, free.amount), ("requested", "free"))


def _format(found: Quantity | None) -> Format:
    return found.format if found is not None else Format.DECIMAL_SI


def _cluster_card(cluster: ClusterReport) -> str:
    head = (f'<h3>{_e(cluster.name)} <span class="muted">· {cluster.replicas} replica(s), '
            f"{len(cluster.bindings)} binding(s)</span></h3>")
    if cluster.free is None:
        return f'<div class="panel">{head}<p class="muted">no resource summary in the snapshot</p></div>'
    pods = Quantity.from_int(cluster.replicas, _format(cluster.free.get("pods")))
    meters = [_resource_meter(name, cluster.requests.get(name), cluster.free.get(name))
              for name in ("cpu", "memory")]
    meters.append(_resource_meter("pods", pods, cluster.free.get("pods")))
    return f'<div class="panel">{head}{"".join(meters)}</div>'


def _clusters(report: PlacementReport) -> str:
    note = ('<p class="sub">What the planned bindings request on each cluster, against what the cluster has '
            "free (allocatable &minus; allocated &minus; allocating).</p>")
    cards = "".join(_cluster_card(c) for c in report.clusters) or '<p class="muted">no clusters</p>'
    return _section("Cluster utilization", f'{note}<div class="grid">{cards}</div>', "clusters")


def _quota_card(quota: QuotaOutcome) -> str:
    state = _badge("enforced", "info") if quota.enforced else _badge("not enforced", "warn")
    meters = []
    for name, limit in sorted(quota.limit.items()):
        used = quota.used.get(name) or Quantity.from_int(0, limit.format)
        ratio = _percent(used.amount, limit.amount)
        meters.append(_meter(name, str(used), str(limit), ratio, ("used", "limit")))
    denied = "".join(f"<li><code>{_e(d.binding)}</code> ({_e(d.stage)}): {_e(d.message)}</li>"
                     for d in quota.denied)
    note = f'<p class="muted">{_e(quota.note())}</p>' if quota.note() else ""
    return (f'<div class="panel"><h3>{_e(_label(quota.namespace, quota.name))} {state}</h3>{"".join(meters)}'
            + (f"<p>denied:</p><ul>{denied}</ul>" if denied else "") + f"{note}</div>")


def _quotas(quotas: Sequence[QuotaOutcome]) -> str:
    if not quotas:
        return ""
    return _section("Quotas", f'<div class="grid">{"".join(map(_quota_card, quotas))}</div>', "quotas")


def _failover_row(found: FailoverOutcome) -> list[str]:
    evicted = ", ".join(found.evicted) or "-"
    if found.evicted and found.after_seconds:
        evicted += f" after {found.after_seconds}s"
    if found.error is not None:
        outcome = f"{_badge(found.error.type, 'bad')} {_e(found.error.message)}"
    elif found.eviction_error:
        outcome = f"{_badge('eviction fails', 'bad')} {_e(found.eviction_error)}"
    else:
        outcome = _targets(found.clusters)
    labels = [f"preserved <code>{_e(k)}</code>: {_e(v)}" for k, v in sorted((found.preserved or {}).items())]
    labels += [f"on {_e(c)}: <code>{_e(k)}</code>: {_e(v)}"
               for c, injected in sorted((found.injected or {}).items()) for k, v in sorted(injected.items())]
    labels += [f'<span class="muted">note: {_e(n)}</span>' for n in found.notes]
    return [f"<code>{_e(found.binding)}</code>", _e(evicted), outcome, "<br>".join(labels) or "-"]


def _failover(report: PlacementReport) -> str:
    if not report.failed_clusters:
        return ""
    intro = f'<p class="sub">Failed: {_e(", ".join(report.failed_clusters))}.'
    intro += "".join(f" Assumes {_e(note)}." for note in report.failover_notes[:1]) + "</p>"
    rows = [_failover_row(found) for found in report.failovers]
    body = _table(("binding", "evicted from", "afterwards", "labels"), rows) if rows else \
        '<p class="muted">no binding is placed on the failed cluster(s)</p>'
    return _section("Failover", f'{intro}<div class="panel">{body}</div>', "failover")


def _simulation(simulation: Simulation | None) -> str:
    if simulation is None:
        return ""
    rows = [[f"<code>{_e(b.binding)}</code>",
             f"{_badge(b.error.type, 'bad')} {_e(b.error.message)}" if b.error is not None else
             (_badge("lands elsewhere", "warn") if b.moved else _badge("fits", "ok")),
             _targets(b.clusters)] for b in simulation.bindings]
    over = "".join(f"<li>{_e(o.cluster)}: {_e(o.resource)} demand {_e(o.demand)}, free {_e(o.free)}</li>"
                   for o in simulation.overcommitted)
    body = _table(("binding (in scheduling order)", "outcome", "clusters"), rows)
    body += f"<h3 style=\"margin-top:14px\">Overcommitted</h3><ul>{over}</ul>" if over else ""
    return _section("Capacity simulation", f'<div class="panel">{body}</div>', "simulation")


# ------------------------------------------------------------------------------------ changes


def _flow_rows(flows: Sequence[Flow]) -> str:
    largest = max((f.replicas for f in flows), default=0)
    rows = []
    for flow in flows:
        width = round(Fraction(flow.replicas, largest) * 100) if largest else 0
        rows.append(f'<div class="flow"><span class="who">{_e(flow)}</span><div class="track">'
                    f'<div class="fill" style="width:{width}%"></div></div><b>{flow.replicas}</b></div>')
    return "".join(rows)


_CHANGE_TONE: Mapping[str, str] = {"added": "ok", "removed": "warn", "moved": "info", "scaled": "info",
                                   FAILING: "bad", "recovered": "ok"}


def _changes(diff: PlanDiff | None) -> str:
    if diff is None:
        return ""
    body = f'<p class="summary">{_e(diff.summary())}</p>{_flow_rows(diff.flows)}'
    rows = [[f"<code>{_e(c.binding)}</code>", _badge(c.kind, _CHANGE_TONE.get(c.kind, "info")),
             _targets(c.before), _e(c.error) if c.kind == FAILING else _targets(c.after)]
            for c in diff.changes]
    if rows:
        body += _table(("binding", "change", "before", "after"), rows)
    return _section("Changes against the baseline", f'<div class="panel">{body}</div>', "changes")


def render_html(report: PlacementReport) -> str:
    """The whole page; byte-stable for the same report."""
    parts = [_summary(report), _changes(report.diff), _placements(report), _clusters(report),
             _quotas(report.quotas), _failover(report), _simulation(report.simulation)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>kpl plan</title><style>{_STYLE}</style></head>\n<body><main>\n"
            + "\n".join(part for part in parts if part) + "\n</main></body></html>\n")
