#!/usr/bin/env python3
"""Call the Switchboard gateway from Python with grpcio only: the message types come from the
server's own reflection, so no generated stubs are needed.

Usage:
    scripts/gateway_example.py --addr 127.0.0.1:50051 --org org_... --token "$TOKEN" GetMe
    scripts/gateway_example.py ... ListAssignedConversations '{"page": {"pageSize": 10}}'

Prints the response as JSON; on an error prints the gRPC code and message and exits 1.
Needs: pip install grpcio grpcio-reflection
"""

from __future__ import annotations

import argparse
import sys

try:
    import grpc
    from google.protobuf import json_format
    from google.protobuf.descriptor_pool import DescriptorPool
    from google.protobuf.message_factory import GetMessageClass
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )
except ImportError as e:  # pragma: no cover - environment problem
    print(f"gateway_example.py: {e}; pip install grpcio grpcio-reflection", file=sys.stderr)
    sys.exit(2)

SERVICE = "switchboard.gateway.v1.GatewayService"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default="127.0.0.1:50051")
    parser.add_argument("--org", required=True, help="x-switchboard-organization")
    parser.add_argument("--token", required=True, help="bearer token (switchboard token ...)")
    parser.add_argument("method", help="a GatewayService method, e.g. GetMe")
    parser.add_argument("request", nargs="?", default="{}", help="request as JSON")
    args = parser.parse_args()

    channel = grpc.insecure_channel(args.addr)
    pool = DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    method = pool.FindServiceByName(SERVICE).methods_by_name[args.method]
    request_type = GetMessageClass(method.input_type)
    response_type = GetMessageClass(method.output_type)
    request = json_format.Parse(args.request, request_type())
    metadata = [
        ("authorization", f"Bearer {args.token}"),
        ("x-switchboard-organization", args.org),
    ]
    path = f"/{SERVICE}/{args.method}"
    try:
        if method.server_streaming:
            call = channel.unary_stream(
                path,
                request_serializer=request_type.SerializeToString,
                response_deserializer=response_type.FromString,
            )
            for response in call(request, metadata=metadata, timeout=30):
                print(json_format.MessageToJson(response), flush=True)
        else:
            call = channel.unary_unary(
                path,
                request_serializer=request_type.SerializeToString,
                response_deserializer=response_type.FromString,
            )
            print(json_format.MessageToJson(call(request, metadata=metadata, timeout=10)))
    except grpc.RpcError as e:
        print(f"{e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
