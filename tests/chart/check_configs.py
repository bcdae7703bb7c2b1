#!/usr/bin/env python3
"""Every Switchboard config the chart renders is accepted by the binary's own validation.

Usage: check_configs.py BINARY RENDERED.yaml...

For each Deployment/Job container, runs `BINARY check-config --target <its targets>` with the
config.toml it mounts as SWITCHBOARD_CONFIG, its literal SWITCHBOARD__* environment variables,
and the values it gets from Secrets (database and Redis URLs, HS256 and Meta secrets) replaced by
placeholders of the right shape. Prints a one-line summary; exits 1 on a refusal.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import yaml

SECRET_SHAPES = {
    "SWITCHBOARD__DATABASE__URL": "postgres://switchboard@db.example:5432/switchboard",
    "SWITCHBOARD__REDIS__URL": "redis://redis.example:6379",
    "SWITCHBOARD__GATEWAY__AUTH__HS256_SECRET": "a-placeholder-secret-of-32-bytes-or-more",
    "SWITCHBOARD__CHANNEL__WHATSAPP__APP_SECRET": "placeholder-app-secret",
    "SWITCHBOARD__CHANNEL__WHATSAPP__VERIFY_TOKEN": "placeholder-verify-token",
}


def targets(container: dict) -> str:
    """The --target of `serve` in the container's args (default all); `migrate` builds no
    gateway, so its token settings are not its concern."""
    args = [str(a) for a in container.get("args", []) + container.get("command", [])]
    if "migrate" in args:
        return "channel,routing,presence,ticketing,integrations"
    for i, a in enumerate(args):
        if a == "--target" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--target="):
            return a.split("=", 1)[1]
    return "all"


def main() -> int:
    binary, files = sys.argv[1], sys.argv[2:]
    checked, failures = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            docs = [d for d in yaml.safe_load_all(open(path)) if d]
            configs = {}
            for d in docs:
                if d.get("kind") == "ConfigMap":
                    for key, text in (d.get("data") or {}).items():
                        if key.endswith(".toml"):
                            configs[d["metadata"]["name"]] = text
            for d in docs:
                if d.get("kind") not in ("Deployment", "Job"):
                    continue
                spec = d["spec"]["template"]["spec"]
                mounted = [
                    v["configMap"]["name"]
                    for v in spec.get("volumes", [])
                    if "configMap" in v and v["configMap"]["name"] in configs
                ]
                for container in spec.get("containers", []):
                    env = {
                        e["name"]: e["value"]
                        for e in container.get("env", [])
                        if e["name"].startswith("SWITCHBOARD__") and "value" in e
                    }
                    env.update(
                        {
                            e["name"]: SECRET_SHAPES[e["name"]]
                            for e in container.get("env", [])
                            if e["name"] in SECRET_SHAPES and "valueFrom" in e
                        }
                    )
                    for name in mounted or [None]:
                        run_env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD")}
                        run_env.update(env)
                        if name:
                            cfg = os.path.join(tmp, f"{name}.toml")
                            with open(cfg, "w") as f:
                                f.write(configs[name])
                            run_env["SWITCHBOARD_CONFIG"] = cfg
                        result = subprocess.run(
                            [binary, "check-config", "--target", targets(container)],
                            env=run_env,
                            capture_output=True,
                            text=True,
                        )
                        checked += 1
                        if result.returncode != 0:
                            failures.append(
                                f"{path}: {d['kind']}/{d['metadata']['name']} ({name}): "
                                f"{result.stderr.strip() or result.stdout.strip()}"
                            )
    for f in failures:
        print(f"config refused: {f}", file=sys.stderr)
    print(f"configs: {'ok' if not failures else 'FAILED'}: {checked} container configs checked by `switchboard check-config`")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
