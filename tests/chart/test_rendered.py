#!/usr/bin/env python3
"""Checks over the chart's rendered objects (run by scripts/chart-check.sh with the tools venv).

Usage: test_rendered.py --helm HELM --chart DIR RENDERED.yaml...

Each RENDERED file is one installation (helm template output or kubectl kustomize output). On
top of what kubernetes-validate checks (the API schemas), this checks what the chart promises:
hardened containers, probes and resources, a PDB and NetworkPolicies for every Deployment, the
migration hook ordered before the Deployments, the configuration (no development secret, no
migration on start, endpoints matching Services), and with helm itself that a typo in values is
rejected by the schema and that the config checksum annotation follows the configuration.
Stdlib + PyYAML. Prints one summary line; exits 1 on any failure.
"""

import argparse
import hashlib
import subprocess
import sys
import tomllib

import yaml

DEV_SECRET = "switchboard-development-secret-change-me"
GRPC_PORTS = {"gateway": 50051, "channel": 50052, "routing": 50053, "presence": 50054, "ticketing": 50055, "reporting": 50056, "integrations": 50057}

failures: list[str] = []
checks = 0


def check(cond: bool, what: str) -> bool:
    global checks
    checks += 1
    if not cond:
        failures.append(what)
    return cond


def load(path: str) -> list[dict]:
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def name(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def selects(selector: dict, labels: dict) -> bool:
    """matchLabels only (what the chart uses); an empty selector selects everything."""
    if selector.get("matchExpressions"):
        raise ValueError("matchExpressions not supported by this test")
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def c0(d: dict) -> dict:
    return d["spec"]["template"]["spec"]["containers"][0]


def pod_specs(objs):
    for o in objs:
        if o["kind"] in ("Deployment", "Job"):
            yield o, o["spec"]["template"]


def check_containers(src: str, objs: list[dict]) -> None:
    for o, tpl in pod_specs(objs):
        spec = tpl["spec"]
        psc = spec.get("securityContext") or {}
        where = f"{src}: {name(o)}"
        check(psc.get("runAsNonRoot") is True, f"{where}: pod runAsNonRoot")
        check((psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault", f"{where}: pod seccomp RuntimeDefault")
        check(spec.get("automountServiceAccountToken") is False, f"{where}: automountServiceAccountToken false")
        tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for c in spec.get("initContainers", []) + spec["containers"]:
            cw = f"{where} container {c['name']}"
            sc = c.get("securityContext") or {}
            check(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, f"{cw}: runAsNonRoot")
            check(sc.get("runAsUser", psc.get("runAsUser")) == 65532, f"{cw}: runAsUser 65532")
            check(sc.get("readOnlyRootFilesystem") is True, f"{cw}: readOnlyRootFilesystem")
            check(sc.get("allowPrivilegeEscalation") is False, f"{cw}: allowPrivilegeEscalation false")
            check((sc.get("capabilities") or {}).get("drop") == ["ALL"], f"{cw}: capabilities drop ALL")
            res = c.get("resources") or {}
            check(bool((res.get("requests") or {}).get("cpu")), f"{cw}: cpu request")
            check(bool((res.get("requests") or {}).get("memory")), f"{cw}: memory request")
            check(bool((res.get("limits") or {}).get("memory")), f"{cw}: memory limit")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            check(mounts.get("/tmp") in tmp_volumes, f"{cw}: emptyDir at /tmp")
            for e in c.get("env", []):
                check(DEV_SECRET not in str(e.get("value", "")), f"{cw}: development HS256 secret in env")
                secretish = any(s in e["name"] for s in ("SECRET", "TOKEN", "DATABASE__URL", "REDIS__URL"))
                if secretish and e["name"] != "SWITCHBOARD__GATEWAY__AUTH__HS256_SECRET" or "HS256" in e["name"]:
                    check("valueFrom" in e and "secretKeyRef" in e["valueFrom"],
                          f"{cw}: {e['name']} must come from a Secret")
            if o["kind"] == "Deployment":
                ports = {p["containerPort"] for p in c.get("ports", [])} | {p["name"] for p in c.get("ports", [])}
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    p = c.get(probe)
                    if check(bool(p), f"{cw}: {probe}"):
                        port = next((v.get("port") for k, v in p.items() if k in ("grpc", "tcpSocket", "httpGet")), None)
                        check(port in ports, f"{cw}: {probe} port {port} is a container port")
                for probe in ("startupProbe", "readinessProbe"):
                    check("grpc" in (c.get(probe) or {}), f"{cw}: {probe} uses the gRPC health probe")


def config_of(objs: list[dict]) -> tuple[dict, str] | None:
    for o in objs:
        if o["kind"] == "ConfigMap" and "config.toml" in o.get("data", {}) and "helm.sh/hook" not in (
            o["metadata"].get("annotations") or {}
        ):
            text = o["data"]["config.toml"]
            return tomllib.loads(text), text
    return None


def check_objects(src: str, objs: list[dict], mode: str) -> None:
    deployments = [o for o in objs if o["kind"] == "Deployment"]
    services = [o for o in objs if o["kind"] == "Service"]
    pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    nps = [o for o in objs if o["kind"] == "NetworkPolicy"]
    hpas = [o for o in objs if o["kind"] == "HorizontalPodAutoscaler"]

    check(all(DEV_SECRET not in yaml.safe_dump(o) for o in objs), f"{src}: the development HS256 secret appears")
    if mode == "single":
        check(len(deployments) == 1, f"{src}: single mode renders one Deployment")
        check(deployments and deployments[0]["spec"]["template"]["spec"]["containers"][0]["args"][:3] == ["serve", "--target", "all"],
              f"{src}: single mode runs --target all")
    else:
        targets = sorted(d["spec"]["template"]["spec"]["containers"][0]["args"][2] for d in deployments)
        check(targets == sorted(GRPC_PORTS), f"{src}: one Deployment per service, got {targets}")

    found = config_of(objs)
    if check(found is not None, f"{src}: ConfigMap with config.toml"):
        cfg, text = found
        check(cfg["database"]["migrate_on_start"] is False, f"{src}: database.migrate_on_start=false")
        check(cfg["gateway"]["auth"]["hs256_secret"] == "", f"{src}: hs256_secret empty in config.toml")
        grace = cfg["server"]["shutdown_grace_secs"]
        svc_names = {s["metadata"]["name"] for s in services}
        for svc, url in cfg["endpoints"].items():
            if mode == "single":
                check(url == "", f"{src}: endpoints.{svc} empty in single mode")
            else:
                host, port = url.removeprefix("http://").split(":")
                check(host in svc_names and int(port) == GRPC_PORTS[svc], f"{src}: endpoints.{svc}={url} names its Service")
        digest = hashlib.sha256(text.rstrip("\n").encode()).hexdigest()
        for d in deployments:
            ann = d["spec"]["template"]["metadata"].get("annotations") or {}
            check(ann.get("checksum/config") == digest, f"{src}: {name(d)} checksum/config matches config.toml")
            tgps = d["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
            check(tgps > grace, f"{src}: {name(d)} terminationGracePeriodSeconds {tgps} > shutdown_grace_secs {grace}")
            args = d["spec"]["template"]["spec"]["containers"][0]["args"]
            check("--config" in args, f"{src}: {name(d)} passes --config")

    default_deny = [n for n in nps if not n["spec"].get("ingress") and not n["spec"].get("egress")
                    and set(n["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}]
    check(len(default_deny) >= 1, f"{src}: a default-deny NetworkPolicy")
    for d in deployments:
        labels = d["spec"]["template"]["metadata"]["labels"]
        check(selects(d["spec"]["selector"], labels), f"{src}: {name(d)} selector matches its pods")
        check(any(selects(p["spec"]["selector"], labels) for p in pdbs), f"{src}: {name(d)} covered by a PodDisruptionBudget")
        check(any(selects(n["spec"]["podSelector"], labels) for n in default_deny), f"{src}: {name(d)} under the default deny")
        allowing = [n for n in nps if selects(n["spec"]["podSelector"], labels) and n["spec"].get("ingress")]
        check(bool(allowing), f"{src}: {name(d)} selected by an ingress NetworkPolicy")
        egress_ports = {p.get("port") for n in nps if selects(n["spec"]["podSelector"], labels)
                        for rule in n["spec"].get("egress", []) for p in rule.get("ports", [])}
        for port in (53, 5432):
            check(port in egress_ports, f"{src}: {name(d)} may reach port {port}")
        component = labels.get("app.kubernetes.io/component")
        if component in ("channel", "gateway", "integrations", "all"):
            check(443 in egress_ports, f"{src}: {name(d)} may reach HTTPS (Graph API / identity provider / webhooks)")
        else:
            check(443 not in egress_ports, f"{src}: {name(d)} must not reach port 443")
        if component in ("integrations", "all"):
            check(80 in egress_ports, f"{src}: {name(d)} may POST webhooks to port 80")
        else:
            check(80 not in egress_ports, f"{src}: {name(d)} must not reach port 80")
        if component in ("channel", "all"):
            check(c0(d).get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz",
                  f"{src}: {name(d)} liveness is the webhook's /healthz")
        # Ingress: only the gateway and the webhook port are open beyond the suite's own pods.
        for n in allowing:
            for rule in n["spec"]["ingress"]:
                ports = {p["port"] for p in rule.get("ports", [])}
                for peer in rule.get("from", []):
                    if "namespaceSelector" in peer and not ports <= {9464}:
                        check(ports <= {50051, 8080}, f"{src}: {name(n)} opens {ports} to another namespace")
                    if "podSelector" in peer and "namespaceSelector" not in peer:
                        check(peer["podSelector"]["matchLabels"].get("app.kubernetes.io/instance") == labels["app.kubernetes.io/instance"],
                              f"{src}: {name(n)} peers are the suite's pods")
                    check("ipBlock" not in peer, f"{src}: {name(n)} admits an ipBlock")
        hpa = [h for h in hpas if h["spec"]["scaleTargetRef"]["name"] == d["metadata"]["name"]]
        if hpa:
            check("replicas" not in d["spec"], f"{src}: {name(d)} has an HPA and no fixed replicas")

    for s in services:
        check(any(selects({"matchLabels": s["spec"]["selector"]}, d["spec"]["template"]["metadata"]["labels"]) for d in deployments),
              f"{src}: {name(s)} selects a Deployment")
    for h in hpas:
        check(any(d["metadata"]["name"] == h["spec"]["scaleTargetRef"]["name"] for d in deployments), f"{src}: {name(h)} targets a Deployment")

    # Migrations: pre-install/pre-upgrade hooks; the ConfigMap they read before the Job; no
    # Deployment is a hook (so Helm applies them only after the hooks succeeded).
    jobs = [o for o in objs if o["kind"] == "Job"]
    if check(len(jobs) == 1, f"{src}: one migration Job"):
        job = jobs[0]
        ann = job["metadata"].get("annotations") or {}
        check(set(ann.get("helm.sh/hook", "").split(",")) == {"pre-install", "pre-upgrade"}, f"{src}: Job hook pre-install,pre-upgrade")
        check("before-hook-creation" in ann.get("helm.sh/hook-delete-policy", ""), f"{src}: Job delete policy before-hook-creation")
        c = job["spec"]["template"]["spec"]["containers"][0]
        check(c["args"][:3] == ["migrate", "--target", "all"], f"{src}: Job runs migrate --target all")
        check(job["spec"]["template"]["spec"]["restartPolicy"] == "Never", f"{src}: Job restartPolicy Never")
        cm_name = next(v["configMap"]["name"] for v in job["spec"]["template"]["spec"]["volumes"] if "configMap" in v)
        cm = next((o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == cm_name), None)
        if check(cm is not None, f"{src}: the Job's ConfigMap {cm_name} is rendered"):
            cann = cm["metadata"].get("annotations") or {}
            check("pre-install" in cann.get("helm.sh/hook", ""), f"{src}: the Job's ConfigMap is a pre-install hook too")
            check(int(cann.get("helm.sh/hook-weight", "0")) < int(ann.get("helm.sh/hook-weight", "0")),
                  f"{src}: the Job's ConfigMap is created before the Job (hook weight)")
            check(tomllib.loads(cm["data"]["config.toml"])["database"]["migrate_on_start"] is False, f"{src}: hook config parses")
    for d in deployments:
        check("helm.sh/hook" not in (d["metadata"].get("annotations") or {}), f"{src}: {name(d)} is not a hook")

    svc_ports = {s["metadata"]["name"]: {p["name"] for p in s["spec"]["ports"]} for s in services}
    for ing in (o for o in objs if o["kind"] == "Ingress"):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                b = path["backend"]["service"]
                check(b["port"].get("name") in svc_ports.get(b["name"], set()), f"{src}: {name(ing)} backend {b} exists")
    if any(o["kind"] == "Ingress" for o in objs):
        paths = {p["path"] for o in objs if o["kind"] == "Ingress" for r in o["spec"]["rules"] for p in r["http"]["paths"]}
        check("/webhooks/whatsapp" in paths, f"{src}: Ingress routes /webhooks/whatsapp")
    for sm in (o for o in objs if o["kind"] == "ServiceMonitor"):
        matched = [s for s in services if selects(sm["spec"]["selector"], s["metadata"]["labels"])]
        check(bool(matched) and all("metrics" in svc_ports[s["metadata"]["name"]] for s in matched),
              f"{src}: {name(sm)} selects Services with a metrics port")
        check(all(e["port"] == "metrics" for e in sm["spec"]["endpoints"]), f"{src}: {name(sm)} scrapes port metrics")


def helm(args: argparse.Namespace, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([args.helm, "template", "switchboard", args.chart, *extra], capture_output=True, text=True)


def check_helm(args: argparse.Namespace) -> None:
    for typo in (["--set", "servcies.gateway.replicas=3"], ["--set", "services.gateway.replica=3"],
                 ["--set", "deploymentMode=microservices"], ["--set", "config.telemetry.logformat=json"],
                 ["--set", "networkPolicy.egress.databse.port=5432"]):
        r = helm(args, *typo)
        check(r.returncode != 0 and "schema" in r.stderr, f"values typo {typo[1]} not rejected by the schema")
    r = helm(args, "--set", "terminationGracePeriodSeconds=10", "--set", "config.server.shutdownGraceSecs=20")
    check(r.returncode != 0, "terminationGracePeriodSeconds <= shutdownGraceSecs not rejected")

    def checksums(*extra):
        r = helm(args, *extra)
        if not check(r.returncode == 0, f"helm template {extra} failed: {r.stderr.strip()}"):
            return {}
        return {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
                for d in yaml.safe_load_all(r.stdout) if d and d["kind"] == "Deployment"}

    base = checksums()
    again = checksums()
    changed = checksums("--set", "config.telemetry.logFilter=debug")
    check(bool(base) and base == again, "checksum/config is stable for the same values")
    check(bool(base) and base.keys() == changed.keys() and all(base[k] != changed[k] for k in base),
          "checksum/config changes when a config value changes")
    same = checksums("--set", "services.gateway.replicas=5")
    check(bool(base) and base == same, "checksum/config ignores values outside the configuration")


def documented_values(readme: str) -> set[str]:
    """Value paths named in the README's values table; `.x` after `a.b` means `a.x`."""
    import re
    names = set()
    for line in readme.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        last = None
        for token in re.findall(r"`([^`]+)`", first_cell):
            if token.startswith(".") and last:
                token = last.rsplit(".", 1)[0] + token
            names.add(token)
            last = token
    return names


def check_readme(chart: str) -> None:
    from pathlib import Path
    values = yaml.safe_load((Path(chart) / "values.yaml").read_text())
    documented = documented_values((Path(chart) / "README.md").read_text())

    def leaves(d, prefix=""):
        for k, v in d.items():
            path = f"{prefix}{k}"
            if prefix == "services.":
                path = "services.<name>"
            if isinstance(v, dict) and v:
                yield from leaves(v, path + ".")
            else:
                yield path

    for leaf in leaves(values):
        parts = leaf.split(".")
        covered = any(".".join(parts[:i]) in documented for i in range(1, len(parts) + 1))
        check(covered, f"charts/switchboard/README.md documents the value {leaf}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--helm", required=True)
    parser.add_argument("--chart", required=True)
    parser.add_argument("rendered", nargs="+", help="FILE or MODE=FILE (MODE single|distributed)")
    args = parser.parse_args()
    objects = 0
    for item in args.rendered:
        mode, _, path = item.rpartition("=")
        objs = load(path)
        objects += len(objs)
        check_containers(path, objs)
        check_objects(path, objs, mode or "distributed")
    check_helm(args)
    check_readme(args.chart)
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    status = "ok" if not failures else f"{len(failures)} FAILED"
    print(f"chart tests: {status}: {checks} checks over {objects} objects in {len(args.rendered)} renderings")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
