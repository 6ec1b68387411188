"""``stayactive validate gait``: run the detectors on a folder, print text and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from analytics.agreement import PooledScore
from stayactive.tools.validation import gait as gv
from stayactive.tools.validation._text import figure
from stayactive.tools.validation.gait import GroupFigures, LosoResult, RecordingResult
from stayactive.tools.validation.recordings import load_dir

__all__ = ["COMPARISONS", "GaitRun", "as_json", "run_gait", "text"]

COMPARISONS = ("mobgap",)
"""What ``--compare`` accepts."""


@dataclass(frozen=True)
class GaitRun:
    """Everything one ``validate gait`` run measured."""

    data: Path
    tolerance_s: float
    region: str
    runs: dict[str, list[RecordingResult]]
    figures: dict[str, GroupFigures]
    loso: LosoResult | None
    skipped: list[str]


def run_gait(
    data: Path,
    *,
    tolerance_s: float = 0.25,
    compare: Sequence[str] = (),
    region: str = "span",
    loso: bool = False,
) -> GaitRun:
    """Our detector (and the ``compare`` ones) on every recording of ``data``.

    Raises ValueError for an unknown region or comparison, RejectedInput for a folder
    without recordings (files that cannot be read are listed in ``skipped``).
    """
    if region not in ("span", "bouts"):
        raise ValueError(f"region {region!r}: span or bouts")
    unknown = sorted(set(compare) - set(COMPARISONS))
    if unknown:
        raise ValueError(f"unknown comparison: {', '.join(unknown)}")
    where = cast(gv.Region, region)
    recordings, bad = load_dir(data)
    detectors: dict[str, gv.Detector] = {"ours": gv.ours()}
    if "mobgap" in compare:
        detectors["mobgap"] = gv.mobgap_ionescu()
    runs = {
        name: gv.evaluate(recordings, det, tolerance_s=tolerance_s, region=where)
        for name, det in detectors.items()
    }
    if not runs["ours"]:
        raise ValueError(f"no recording with reference steps in {data}")
    return GaitRun(
        data=data,
        tolerance_s=tolerance_s,
        region=region,
        runs=runs,
        figures={name: GroupFigures.of(res) for name, res in runs.items()},
        loso=(
            gv.leave_one_subject_out(recordings, tolerance_s=tolerance_s, region=where)
            if loso
            else None
        ),
        skipped=[str(e) for e in bad],
    )


def text(run: GaitRun) -> str:
    """The printed report: per recording, pooled, leave-one-subject-out, skipped files."""
    lines = [
        f"{run.data}: {len(run.runs['ours'])} recordings, tolerance {run.tolerance_s:g} s, "
        f"region {run.region}"
    ]
    lines += recording_lines(run.runs)
    lines += ["", POOLED_HEAD]
    for name, g in run.figures.items():
        lines += pooled_lines(name, g)
    if run.loso is not None:
        lines += ["", *loso_lines(run.loso)]
    lines += [f"skipped {s}" for s in run.skipped]
    return "\n".join(lines)


def recording_lines(runs: dict[str, list[RecordingResult]]) -> list[str]:
    """One line per recording, each detector's figures side by side."""
    names = list(runs)
    head = f"{'recording':44s} {'group':8s} {'ref':>4s}"
    for n in names:
        head += f" | {n + ' det':>11s} {'sens':>5s} {'ppv':>5s} {'f1':>5s} "
        head += f"{'count':>6s} {'cad':>5s} {'offs':>6s}"
    lines = [head]
    first = runs[names[0]]
    for i, r in enumerate(first):
        group = "impaired" if r.impaired else "healthy"
        line = f"{r.name[:44]:44s} {group:8s} {r.score.n_reference:4d}"
        for n in names:
            s = runs[n][i].score
            line += (
                f" | {s.n_detected:11d} {figure(s.sensitivity)} {figure(s.ppv)} {figure(s.f1)} "
                f"{figure(s.count_rel_err, '+6.1%')} {figure(s.cadence_rel_err, '5.1%')} "
                f"{figure(s.timing_offset_s, '+6.3f')}"
            )
        lines.append(line)
    return lines


def pooled_line(label: str, p: PooledScore) -> str:
    """One line of pooled figures."""
    return (
        f"{label:34s} {p.n_recordings:4d} {p.n_reference:6d} {p.n_detected:6d}  "
        f"{figure(p.sensitivity)} {figure(p.ppv)} {figure(p.f1)}  "
        f"{figure(p.count_rel_err, '6.1%')} {figure(p.count_bias, '+6.1%')}  "
        f"{figure(p.cadence_rel_err, '5.1%')}  {figure(p.timing_offset_s, '+.3f')}"
    )


POOLED_HEAD = (
    f"{'pooled':34s} {'recs':>4s} {'ref':>6s} {'det':>6s}  {'sens':5s} {'ppv':5s} {'f1':5s}  "
    f"{'|count|':>6s} {'bias':>6s}  {'cad':>5s}  offset_s"
)


def pooled_lines(label: str, g: GroupFigures) -> list[str]:
    """All, healthy and impaired pooled figures of one detector."""
    return [
        pooled_line(f"{label}: all", g.all),
        pooled_line(f"{label}: healthy", g.healthy),
        pooled_line(f"{label}: impaired", g.impaired),
    ]


def loso_lines(loso: LosoResult) -> list[str]:
    """Leave-one-subject-out figures and what was chosen."""
    lines = [f"leave-one-subject-out over {len(loso.chosen)} subjects, grid of {loso.grid_size}:"]
    lines += pooled_lines("ours, held-out subjects", loso.figures)
    for r in loso.held_out:
        if r.impaired:
            s = r.score
            lines.append(
                f"  held out {r.name[:44]:44s} sens {figure(s.sensitivity)} ppv {figure(s.ppv)} "
                f"count {figure(s.count_rel_err, '+.1%')}"
            )
    lines.append(f"  chosen on all subjects: {loso.chosen_on_all}")
    distinct = {str(v) for v in loso.chosen.values()}
    lines.append(f"  {len(distinct)} distinct choice(s) over the folds")
    return lines


def as_json(run: GaitRun) -> dict[str, Any]:
    """The last line of ``--json``: our figures at the top level, the rest beside them."""
    out: dict[str, Any] = run.figures["ours"].as_json()
    out["recordings"] = [r.as_json() for r in run.runs["ours"]]
    out["settings"] = {
        "data": str(run.data),
        "tolerance_s": run.tolerance_s,
        "region": run.region,
    }
    out["skipped"] = list(run.skipped)
    for name in list(run.runs)[1:]:
        other = run.figures[name].as_json()
        other["recordings"] = [r.as_json() for r in run.runs[name]]
        out[name] = other
    if run.loso is not None:
        lo = run.loso.figures.as_json()
        lo["recordings"] = [r.as_json() for r in run.loso.held_out]
        lo["chosen"] = run.loso.chosen
        lo["chosen_on_all"] = run.loso.chosen_on_all
        out["loso"] = lo
    return out
