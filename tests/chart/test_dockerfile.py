#!/usr/bin/env python3
"""Checks the Dockerfile with Docker's own parser (PyPI `dockerfile`, BuildKit's Go parser):
multi-stage, cached release build of `-p switchboard`, distroless nonroot runtime as uid 65532
(the chart's runAsUser), exec-form entrypoint, every port the chart uses exposed, and a
.dockerignore keeping target/ and .git out of the context. No Docker engine builds it here.
Prints one summary line; exits 1 on any failure."""

import sys
from pathlib import Path

import dockerfile
import yaml

root = Path(__file__).resolve().parents[2]
failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)


cmds = dockerfile.parse_file(str(root / "Dockerfile"))
stages = [c for c in cmds if c.cmd == "FROM"]
check(len(stages) >= 2, "multi-stage build")
final = stages[-1].value[0]
check(final.startswith("gcr.io/distroless/cc-debian12:nonroot"), f"runtime image is distroless cc nonroot, got {final}")
runs = [c for c in cmds if c.cmd == "RUN"]
build = [c for c in runs if "cargo build" in " ".join(c.value)]
check(len(build) == 1, "one cargo build")
if build:
    text = " ".join(build[0].value)
    check("--release" in text and "-p switchboard" in text and "--locked" in text, "cargo build --release --locked -p switchboard")
    mounts = [f for f in build[0].flags if f.startswith("--mount=type=cache")]
    check(any("cargo/registry" in m for m in mounts) and any("target" in m for m in mounts), "registry and target cache mounts")
final_start = cmds.index(stages[-1])
final_cmds = cmds[final_start:]
users = [c.value[0] for c in final_cmds if c.cmd == "USER"]
values = yaml.safe_load((root / "charts/switchboard/values.yaml").read_text())
uid = values["securityContext"]["runAsUser"]
check(users and users[-1].split(":")[0] == str(uid), f"runtime USER is the chart's runAsUser {uid}, got {users}")
check(not any(c.cmd == "RUN" for c in final_cmds), "no RUN in the runtime stage (no shell there)")
entry = [c for c in final_cmds if c.cmd == "ENTRYPOINT"]
check(entry and entry[-1].json and entry[-1].value[0] == "/usr/local/bin/switchboard", "exec-form ENTRYPOINT switchboard")
copies = [c for c in final_cmds if c.cmd == "COPY"]
check(any(f.startswith("--from=") for c in copies for f in c.flags), "runtime copies the binary from the build stage")
exposed = {int(p.split("/")[0]) for c in final_cmds if c.cmd == "EXPOSE" for p in c.value}
check({50051, 50052, 50053, 50054, 50055, 50057, 8080, 9464} <= exposed, f"every port exposed, got {sorted(exposed)}")
ignore = {line.strip() for line in (root / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")}
check({"target", ".git", "**/node_modules"} <= ignore, ".dockerignore excludes target, .git, node_modules")
check(not ({"proto", "crates", "services", "Cargo.lock", "tests"} & ignore), ".dockerignore keeps the sources")

for f in failures:
    print(f"FAIL Dockerfile: {f}", file=sys.stderr)
print(f"dockerfile tests: {'ok' if not failures else f'{len(failures)} FAILED'}: {checks} checks")
sys.exit(1 if failures else 0)
