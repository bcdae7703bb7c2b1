import { Code, ConnectError } from "@connectrpc/connect";

import { BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";
import { ErrorReason } from "./gen/switchboard/common/v1/common_pb.js";

/** A failed call, decoded: the status code, the message, and the details Switchboard sends in
 * grpc-status-details-bin (switchboard.common.v1 "Errors"). */
export interface SwitchboardError {
  /** The gRPC status code (Code.Unauthenticated, Code.FailedPrecondition, ...). */
  code: Code;
  /** The code's name, e.g. "FailedPrecondition". */
  codeName: string;
  /** The server's message, for logs (not for end users). */
  message: string;
  /** The ErrorInfo reason (ErrorReason.UNSPECIFIED when the error has none). */
  reason: ErrorReason;
  /** ErrorInfo metadata, e.g. { close_time: "..." } with ERROR_REASON_OUTSIDE_WINDOW. */
  metadata: Record<string, string>;
  /** INVALID_ARGUMENT field violations: field path as in the request, and why. */
  fieldViolations: { field: string; description: string }[];
}

/** Decodes any error thrown by a client call (network failures become Code.Unknown or
 * Code.Unavailable, as connect-web reports them). */
export function describeError(err: unknown): SwitchboardError {
  const e = ConnectError.from(err);
  const info = e.findDetails(ErrorInfoSchema).find((d) => d.domain === "switchboard");
  const reasonName = info?.reason ?? "";
  const reason = (ErrorReason as unknown as Record<string, number>)[
    reasonName.replace(/^ERROR_REASON_/, "")
  ];
  return {
    code: e.code,
    codeName: Code[e.code] ?? String(e.code),
    message: e.rawMessage,
    reason: reason === undefined ? ErrorReason.UNSPECIFIED : (reason as ErrorReason),
    metadata: { ...(info?.metadata ?? {}) },
    fieldViolations: e
      .findDetails(BadRequestSchema)
      .flatMap((b) => b.fieldViolations.map((v) => ({ field: v.field, description: v.description }))),
  };
}
