"""docs/api.md's "A first session with curl", run with bash as it stands in the docs.

The section's ``sh`` blocks are one shell session. The test takes them from the docs (so an edit
of the docs changes what is tested) and changes exactly three things, all named in the docs:

* the line ``API=…`` points at the test's own API (the real one, on a free loopback port, over
  a freshly migrated schema: :func:`tests.fixtures.served.served_schema`);
* the line ``TENANT=…`` names a tenant of the test's own;
* the line ``stayactive api &`` is left out (the fixture runs the API).

The ``stayactive`` commands run as the console script against the same schema (the
``STAYACTIVE_DATABASE_*`` variables). Each command of the session is a step; a step's output and
the HTTP status of each of its curl calls are recorded (curl is wrapped to write the status to
standard error). Every step is checked against what the docs show after it (the ``#   …``
comments): the keys shown exist in the answer, a status or problem type shown is the one
answered, a line of text shown is printed; every other curl call must answer 2xx. Then the key
fields of the session are asserted step by step.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stayactive.settings import Settings
from tests.fixtures.served import Served, remove_broker_accounts, served_schema

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SECTION = "## A first session with curl"
#: A comment line of a block that shows what the command before it printed.
SHOWN = "#   "
MARKER = "@@docs-step "
HTTP = "@@http "
#: Runs before the session: stop at the first failing command, no unset variables (not
#: pipefail: the docs pipe into ``head -c``, which closes the pipe early, as in a person's
#: shell), and curl writing each call's status to standard error.
PREAMBLE = f"""set -eu
curl() {{ command curl -w '%{{stderr}}{HTTP}%{{http_code}}\\n' "$@"; }}
"""


@dataclass
class Step:
    """One command of the session, what the docs show after it and what it did."""

    command: str
    shown: list[str] = field(default_factory=list)
    output: str = ""
    statuses: list[int] = field(default_factory=list)
    stderr: str = ""

    def answer(self) -> Any:
        """The step's output as JSON."""
        return json.loads(self.output)


def session_script(markdown: str) -> str:
    """The ``sh`` blocks of the section, joined (they are one shell session)."""
    start = markdown.index(SECTION)
    end = markdown.find("\n## ", start + len(SECTION))
    section = markdown[start : end if end >= 0 else None]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, f"no ```sh blocks under {SECTION!r} in {DOCS}"
    return "\n".join(blocks)


def substituted(script: str, *, api: str, tenant: str) -> tuple[str, str]:
    """The script with the test's ``API`` and ``TENANT`` and without ``stayactive api &``;
    and the docs' own tenant id (shown outputs name it)."""
    lines = script.splitlines()
    for name in ("API", "TENANT"):
        count = sum(1 for line in lines if line.startswith(name + "="))
        assert count == 1, f"the session must set {name}= once at the start of a line ({count})"
    assert lines.count("stayactive api &") == 1, "the session starts the API once"
    docs_tenant = next(line for line in lines if line.startswith("TENANT="))[len("TENANT=") :]
    replaced = {"API": api, "TENANT": tenant}
    out = []
    for line in lines:
        name = line.split("=", 1)[0]
        if name in replaced and line.startswith(name + "="):
            line = f"{name}={replaced[name]}"
        if line != "stayactive api &":
            out.append(line)
    return "\n".join(out) + "\n", docs_tenant.strip("'\"")


def steps_of(script: str) -> list[Step]:
    """The commands of ``script`` (continued lines and here-documents kept whole), each with
    the shown output that follows it."""
    lines = script.splitlines()
    steps: list[Step] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(SHOWN):
            assert steps, f"shown output before any command: {line!r}"
            steps[-1].shown.append(line[len(SHOWN) :])
        elif line.strip() and not line.lstrip().startswith("#"):
            command = [line]
            while command[-1].endswith("\\"):
                i += 1
                command.append(lines[i])
            heredoc = re.search(r"<<-?\s*'?\"?(\w+)", line)
            if heredoc:
                while lines[i].strip() != heredoc.group(1):
                    i += 1
                    command.append(lines[i])
            steps.append(Step("\n".join(command)))
        i += 1
    return steps


def run_session(steps: list[Step], *, cwd: Path, env: dict[str, str]) -> None:
    """Run the steps in one bash; fill in each step's output, statuses and standard error."""
    script = PREAMBLE + "".join(
        f"{s.command}\nprintf '\\n{MARKER}{n}\\n'; printf '\\n{MARKER}{n}\\n' >&2\n"
        for n, s in enumerate(steps)
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    outs = re.split(rf"\n{MARKER}\d+\n", done.stdout)
    errs = re.split(rf"\n{MARKER}\d+\n", done.stderr)
    for step, out, err in zip(steps, outs, errs, strict=False):
        step.output = out
        step.statuses = [int(s) for s in re.findall(rf"^{HTTP}(\d+)$", err, flags=re.MULTILINE)]
        step.stderr = err
    finished = len(outs) - 1
    assert done.returncode == 0 and finished == len(steps), (
        f"the session stopped at step {finished + 1} of {len(steps)} (exit {done.returncode}):\n"
        f"{steps[min(finished, len(steps) - 1)].command}\n--- stderr ---\n{errs[-1][-3000:]}"
    )


def check_shown(step: Step, docs_tenant: str, tenant: str) -> None:
    """The step did what the docs show after it (in shape: keys, status, problem type)."""
    shown = "\n".join(step.shown)
    where = f"\n{step.command}\n--- shown ---\n{shown}\n--- answered ---\n{step.output[:2000]}"
    problem_status = re.search(r'"status":\s*(\d{3})', shown)
    expected = int(problem_status.group(1)) if problem_status else None
    for status in step.statuses:
        if expected is None:
            assert 200 <= status < 300, f"HTTP {status}:{where}"
        else:
            assert status == expected, f"HTTP {status}, the docs show {expected}:{where}"
    if not shown:
        return
    if shown.lstrip().startswith("{"):
        answered = set(re.findall(r'"(\w+)":', step.output.replace('": ', '":')))
        missing = set(re.findall(r'"(\w+)":', shown.replace('": ', '":'))) - answered
        assert not missing, f"keys shown but not answered: {sorted(missing)}:{where}"
        for kind in re.findall(r'"type":\s*"([^"]+)"', shown):
            assert f'"type":"{kind}"' in step.output, f"problem {kind} not answered:{where}"
    else:
        for line in step.shown:
            text = line.replace(f"'{docs_tenant}'", f"'{tenant}'")
            assert text in step.output, f"{text!r} not printed:{where}"


def the(steps: list[Step], *needles: str) -> list[Step]:
    """The steps whose command contains every needle (in order of the session)."""
    found = [s for s in steps if all(n in s.command for n in needles)]
    assert found, f"no step of the session runs {needles}"
    return found


@pytest.fixture
def served(settings: Settings) -> Iterator[Served[None]]:
    """The real API over a freshly migrated, empty schema (the session bootstraps it)."""
    with served_schema(settings, lambda conn: None, api_alerts_interval_s=0) as served:
        try:
            yield served
        finally:
            remove_broker_accounts(served.settings)


def test_the_first_session_in_the_docs_runs_as_written(
    served: Served[None], tmp_path: Path
) -> None:
    tenant = "docs-" + uuid.uuid4().hex[:8]
    script, docs_tenant = substituted(
        session_script(DOCS.read_text("utf-8")), api=served.api.url + "/api/v1", tenant=tenant
    )
    steps = steps_of(script)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "STAYACTIVE_DATABASE_NAME": served.settings.database_name,
        "STAYACTIVE_DATABASE_SCHEMA": served.schema,
    }
    # The session runs where its files (stays.csv, savings.pdf) may land; the docs run it from
    # the repository's root, where the local services' .env is.
    if Path(".env").is_file():
        shutil.copy(".env", tmp_path / ".env")
    run_session(steps, cwd=tmp_path, env=env)

    for step in steps:
        check_shown(step, docs_tenant, tenant)

    # A token for each of the three users, and the admin's /me in the new tenant.
    logins = the(steps, "/auth/token")
    assert [s.statuses for s in logins] == [[200]] * 3
    (me,) = [s for s in the(steps, "$API/me") if s.output]
    answer = me.answer()
    assert (answer["username"], answer["role"], answer["tenant_id"]) == (
        "kari.admin",
        "admin",
        tenant,
    )
    assert [w["name"] for w in answer["wards"]] == ["Korttid 1"]

    # The import creates the two stays; the same file again changes nothing.
    first, again = (s.answer() for s in the(steps, "/imports/stays"))
    assert (first["rows"], first["created"], first["unchanged"]) == (2, 2, 0)
    assert (again["rows"], again["created"], again["updated"], again["unchanged"]) == (2, 0, 0, 2)
    (residents,) = the(steps, "$API/residents?ward=")
    assert {r["pseudonym"] for r in residents.answer()["items"]} == {"R-7F3A", "R-91C2"}

    # The walker gets a broker password once; the overlapping assignment names the one in the way.
    (device,) = the(steps, "-X POST $API/devices")
    assert device.statuses == [201] and device.answer()["password"]
    assigned, refused = the(steps, "-X POST $API/assignments")
    held = assigned.answer()
    assert held["device_id"] == "W-HIN-0001" and held["pseudonym"] == "R-7F3A"
    conflict = refused.answer()
    assert refused.statuses == [409]
    assert conflict["type"] == "urn:stayactive:problem:assignment-overlap"
    assert conflict["conflicting_assignment"]["assignment_id"] == held["assignment_id"]
    assert f"assignment {held['assignment_id']}," in conflict["detail"]

    # The nurse's ward overview lists both residents with the alerts the docs describe.
    care_overview, finance_overview = the(steps, "/overview")
    overview = care_overview.answer()
    alerts = {r["pseudonym"]: {a["kind"] for a in r["alerts"]} for r in overview["residents"]}
    assert alerts == {"R-7F3A": {"no_data", "device_offline"}, "R-91C2": {"no_data"}}
    (handled,) = the(steps, "/handled")
    assert handled.answer()["handled"]["by"] == "per.sykepleier"

    # Finance gets the savings report (PDF and JSON) and is refused the resident-level overview.
    assert (tmp_path / "savings.pdf").read_bytes().startswith(b"%PDF-")
    (report,) = the(steps, "format=json")
    assert report.statuses == [200] and f'"tenant": "{tenant}"' in report.output
    assert finance_overview.statuses == [403]
    assert finance_overview.answer()["type"] == "urn:stayactive:problem:forbidden"
