#!/usr/bin/env python3
"""Independent (non-Rust) smoke check of running Switchboard gRPC servers.

Usage:
    scripts/smoke.py --addr gateway=127.0.0.1:50051 --addr routing=127.0.0.1:50053 ... [--wait 30]

For every address:
  health      grpc.health.v1.Health/Check with service "" and with the
              server's own service name (switchboard.<name>.v1.<Name>Service)
              must answer SERVING.
  reflection  ServerReflection list_services (grpc.reflection.v1 and
              grpc.reflection.v1alpha; at least one must work) must list the
              server's own service and grpc.health.v1.Health, all servers
              together must list the five Switchboard services, and
              file_containing_symbol for the
              server's own service must return a FileDescriptorProto that
              defines it.

Prints one line per check ("ok routing health '' SERVING", "FAIL ...") and
exits 0 if every check passed, 1 if any failed, 2 on bad arguments.

Needs: pip install grpcio grpcio-health-checking grpcio-reflection
"""

from __future__ import annotations

import argparse
import os
import sys
import time

try:
    import grpc
    from google.protobuf import descriptor_pb2
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2
except ImportError as e:  # pragma: no cover - environment problem
    print(
        f"smoke.py: missing Python package ({e}); "
        "pip install grpcio grpcio-health-checking grpcio-reflection",
        file=sys.stderr,
    )
    sys.exit(2)

NAMES = ("gateway", "channel", "routing", "presence", "ticketing", "reporting", "integrations")
# Every service any server listed through reflection.
LISTED_EVERYWHERE: set[str] = set()
ALL_SERVICES = tuple(f"switchboard.{n}.v1.{n.capitalize()}Service" for n in NAMES)
CHECKS = ("health", "reflection")

# The v1 and v1alpha reflection protocols use wire-identical messages; only the
# service name differs. grpcio-reflection ships v1alpha stubs only, so the v1
# method is called with the v1alpha message classes.
REFLECTION_METHODS = (
    ("v1", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
    ("v1alpha", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
)

# Status codes that mean "nobody (properly) answered yet" -> retry while waiting.
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


SERVER_PID: int | None = None


class ServerGone(Exception):
    pass


def check_pid() -> None:
    """Abort waiting early when the watched server process has exited."""
    if SERVER_PID is None:
        return
    try:
        os.kill(SERVER_PID, 0)
    except ProcessLookupError:
        raise ServerGone(f"server process {SERVER_PID} has exited") from None
    except PermissionError:
        pass


def own_service(name: str) -> str:
    return f"switchboard.{name}.v1.{name.capitalize()}Service"


class Results:
    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[str] = []

    def ok(self, label: str, detail: str = "") -> None:
        self.passed.append(label)
        print(f"ok {label}{' ' + detail if detail else ''}", flush=True)

    def fail(self, label: str, detail: str) -> None:
        self.failed.append(f"{label}: {detail}")
        print(f"FAIL {label}: {detail}", flush=True)


def parse_addr(value: str) -> tuple[str, str]:
    if "=" not in value:
        raise argparse.ArgumentTypeError(f"expected NAME=HOST:PORT, got {value!r}")
    name, target = value.split("=", 1)
    name = name.strip()
    if name not in NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown server name {name!r} (expected one of {', '.join(NAMES)})"
        )
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT for {name}, got {target!r}")
    return name, target


def rpc_error_text(err: grpc.RpcError) -> str:
    try:
        return f"{err.code().name}: {err.details()}"
    except Exception:  # pragma: no cover
        return str(err)


def check_health(
    res: Results, name: str, channel: grpc.Channel, deadline: float, rpc_timeout: float
) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", own_service(name)):
        label = f"{name} health {service!r}" if service else f"{name} health ''"
        last = ""
        while True:
            try:
                resp = stub.Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=rpc_timeout
                )
                status = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    res.ok(label, status)
                    break
                last = f"status {status}, want SERVING"
            except grpc.RpcError as e:
                last = rpc_error_text(e)
                if e.code() not in RETRYABLE and e.code() != grpc.StatusCode.NOT_FOUND:
                    # A real answer that will not change by waiting.
                    res.fail(label, last)
                    break
            if time.monotonic() >= deadline:
                res.fail(label, last)
                break
            check_pid()
            time.sleep(0.5)


def reflection_call(
    channel: grpc.Channel, method: str, request: reflection_pb2.ServerReflectionRequest,
    rpc_timeout: float,
) -> reflection_pb2.ServerReflectionResponse:
    call = channel.stream_stream(
        method,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    responses = list(call(iter([request]), timeout=rpc_timeout))
    if not responses:
        raise RuntimeError("empty response stream")
    return responses[0]


def check_reflection(
    res: Results, name: str, channel: grpc.Channel, deadline: float, rpc_timeout: float
) -> None:
    working: list[tuple[str, str]] = []
    problems: list[str] = []
    listed: set[str] = set()
    for version, method in REFLECTION_METHODS:
        while True:
            try:
                resp = reflection_call(
                    channel, method,
                    reflection_pb2.ServerReflectionRequest(list_services=""), rpc_timeout,
                )
                break
            except grpc.RpcError as e:
                if e.code() in RETRYABLE and time.monotonic() < deadline:
                    check_pid()
                    time.sleep(0.5)
                    continue
                resp = None
                problems.append(f"{version}: {rpc_error_text(e)}")
                break
            except Exception as e:  # noqa: BLE001
                resp = None
                problems.append(f"{version}: {e}")
                break
        if resp is None:
            continue
        if resp.HasField("error_response"):
            problems.append(
                f"{version}: error_response {resp.error_response.error_code} "
                f"{resp.error_response.error_message}"
            )
            continue
        names = {s.name for s in resp.list_services_response.service}
        # Each server advertises what it serves: its own service and health.
        missing = [s for s in (own_service(name), "grpc.health.v1.Health") if s not in names]
        label = f"{name} reflection {version} list_services"
        if missing:
            res.fail(label, f"missing {', '.join(missing)} (got {', '.join(sorted(names)) or 'nothing'})")
        else:
            res.ok(label, f"{len(names)} services")
        listed |= names
        LISTED_EVERYWHERE.update(names)
        working.append((version, method))

    if not working:
        res.fail(f"{name} reflection", "no reflection service answered ("
                 + "; ".join(problems) + ")")
        return
    for p in problems:
        # The other protocol version is optional; mention it, do not fail.
        print(f"note {name} reflection {p}", flush=True)

    symbol = own_service(name)
    for version, method in working:
        label = f"{name} reflection {version} file_containing_symbol {symbol}"
        try:
            resp = reflection_call(
                channel, method,
                reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol),
                rpc_timeout,
            )
        except grpc.RpcError as e:
            res.fail(label, rpc_error_text(e))
            continue
        except Exception as e:  # noqa: BLE001
            res.fail(label, str(e))
            continue
        if resp.HasField("error_response"):
            res.fail(label, f"error_response {resp.error_response.error_code} "
                            f"{resp.error_response.error_message}")
            continue
        blobs = list(resp.file_descriptor_response.file_descriptor_proto)
        if not blobs:
            res.fail(label, "no FileDescriptorProto returned")
            continue
        found = None
        try:
            for blob in blobs:
                fd = descriptor_pb2.FileDescriptorProto.FromString(blob)
                for svc in fd.service:
                    full = f"{fd.package}.{svc.name}" if fd.package else svc.name
                    if full == symbol:
                        found = (fd.name, len(svc.method))
        except Exception as e:  # noqa: BLE001
            res.fail(label, f"could not parse FileDescriptorProto: {e}")
            continue
        if found is None:
            res.fail(label, f"{len(blobs)} file(s) returned but none defines {symbol}")
        else:
            res.ok(label, f"{found[0]} ({found[1]} methods, {len(blobs)} files)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Smoke-check Switchboard gRPC servers (health + reflection)."
    )
    ap.add_argument(
        "--addr", action="append", type=parse_addr, required=True, metavar="NAME=HOST:PORT",
        help=f"server to check; NAME is one of {', '.join(NAMES)}; repeatable",
    )
    ap.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS",
        help="keep retrying for up to SECONDS until each server answers (default 0)",
    )
    ap.add_argument(
        "--timeout", type=float, default=5.0, metavar="SECONDS",
        help="per-RPC timeout (default 5)",
    )
    ap.add_argument(
        "--pid", type=int, default=None, metavar="PID",
        help="server process id; stop waiting as soon as it has exited",
    )
    ap.add_argument(
        "--checks", default=",".join(CHECKS), metavar="LIST",
        help="comma-separated checks to run: health,reflection (default both)",
    )
    args = ap.parse_args(argv)

    checks = [c.strip() for c in args.checks.split(",") if c.strip()]
    bad = [c for c in checks if c not in CHECKS]
    if bad or not checks:
        ap.error(f"--checks: unknown {', '.join(bad) or '(empty)'}; use {','.join(CHECKS)}")
    seen: set[str] = set()
    for name, _ in args.addr:
        if name in seen:
            ap.error(f"--addr {name} given more than once")
        seen.add(name)
    if args.wait < 0 or args.timeout <= 0:
        ap.error("--wait must be >= 0 and --timeout > 0")

    global SERVER_PID
    SERVER_PID = args.pid

    res = Results()
    start = time.monotonic()
    deadline = start + args.wait
    for name, target in args.addr:
        channel = grpc.insecure_channel(target)
        try:
            # Wait for the TCP/HTTP2 connection first so the failure is clear.
            remaining = max(deadline - time.monotonic(), 0.0) + args.timeout
            ready = grpc.channel_ready_future(channel)
            until = time.monotonic() + remaining
            try:
                while True:
                    try:
                        ready.result(timeout=min(0.5, max(until - time.monotonic(), 0.01)))
                        break
                    except grpc.FutureTimeoutError:
                        if time.monotonic() >= until:
                            raise
                        check_pid()
            except grpc.FutureTimeoutError:
                res.fail(f"{name} connect",
                         f"nothing answered at {target} within {remaining:.0f}s")
                continue
            except ServerGone as e:
                res.fail(f"{name} connect", f"nothing answered at {target}: {e}")
                continue
            finally:
                ready.cancel()
            print(f"ok {name} connect {target}", flush=True)
            try:
                if "health" in checks:
                    check_health(res, name, channel, deadline, args.timeout)
                if "reflection" in checks:
                    check_reflection(res, name, channel, deadline, args.timeout)
            except ServerGone as e:
                res.fail(f"{name} checks", str(e))
        finally:
            channel.close()

    if "reflection" in checks and {n for n, _ in args.addr} >= set(NAMES):
        missing = [s for s in ALL_SERVICES if s not in LISTED_EVERYWHERE]
        if missing:
            res.fail("suite reflection", f"no server lists {', '.join(missing)}")
        else:
            res.ok("suite reflection", f"all {len(ALL_SERVICES)} switchboard.*.v1 services listed")

    total = len(res.passed) + len(res.failed)
    if res.failed:
        print(f"smoke.py: {len(res.failed)} of {total} checks FAILED:", file=sys.stderr)
        for f in res.failed:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print(f"smoke.py: all {total} checks passed ({time.monotonic() - start:.1f}s)", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("smoke.py: interrupted", file=sys.stderr)
        sys.exit(130)
