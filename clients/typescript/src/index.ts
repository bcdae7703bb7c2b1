// @switchboard/client: the Switchboard gateway API for browsers.
//
// The gateway's service and messages are exported at the top level (GatewayService,
// GetMeRequestSchema, InboxEventKind, ...); the resource types it reuses from the internal
// packages are exported as namespaces (routing.ConversationState, channel.Message, ...).

export * from "./gen/switchboard/gateway/v1/gateway_pb.js";
export * as common from "./gen/switchboard/common/v1/common_pb.js";
export * as routing from "./gen/switchboard/routing/v1/routing_pb.js";
export * as channel from "./gen/switchboard/channel/v1/channel_pb.js";
export * as presence from "./gen/switchboard/presence/v1/presence_pb.js";
export * as ticketing from "./gen/switchboard/ticketing/v1/ticketing_pb.js";
// The error details of grpc-status-details-bin (google.rpc.ErrorInfo, google.rpc.BadRequest).
export * as rpc from "./gen/google/rpc/error_details_pb.js";

export {
  createSwitchboardClient,
  createSwitchboardTransport,
  credentialsInterceptor,
  type SwitchboardClient,
  type SwitchboardClientOptions,
} from "./client.js";
export { describeError, type SwitchboardError } from "./errors.js";

// Re-exported so an application needs no direct dependency (and no second copy) of these.
export { create, toJson, toJsonString, fromJson, clone, equals } from "@bufbuild/protobuf";
export { timestampDate, timestampFromDate, durationMs } from "@bufbuild/protobuf/wkt";
export { Code, ConnectError } from "@connectrpc/connect";
