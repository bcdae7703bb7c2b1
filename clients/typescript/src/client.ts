import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

import { GatewayService } from "./gen/switchboard/gateway/v1/gateway_pb.js";

/** The gateway client: one method per GatewayService RPC (unary ones return a promise,
 * StreamInboxEvents an async iterable). */
export type SwitchboardClient = Client<typeof GatewayService>;

/** Options of {@link createSwitchboardClient}. */
export interface SwitchboardClientOptions {
  /** Where the gateway answers gRPC-Web, e.g. "https://api.switchboard.example" (no trailing
   * path; the RPC path is appended). */
  baseUrl: string;
  /** The current access token (without "Bearer "), called before every call so a refreshed
   * token is picked up. May return a promise (e.g. a token refresh). */
  token: () => string | Promise<string>;
  /** The organization every call acts in (org_ id): the x-switchboard-organization header. */
  organizationId: string | (() => string);
  /** Extra interceptors, run after the credentials one (e.g. tracing). */
  interceptors?: Interceptor[];
  /** A fetch implementation (tests, service workers); the global fetch by default. */
  fetch?: typeof globalThis.fetch;
  /** Default timeout of unary calls in milliseconds (sent as grpc-timeout); none by default.
   * Do not set one for StreamInboxEvents: it is meant to stay open. */
  defaultTimeoutMs?: number;
}

/** An interceptor adding `authorization: Bearer <token>` and `x-switchboard-organization`
 * to every request. */
export function credentialsInterceptor(
  token: SwitchboardClientOptions["token"],
  organizationId: SwitchboardClientOptions["organizationId"],
): Interceptor {
  return (next) => async (req) => {
    const value = await token();
    req.header.set("authorization", `Bearer ${value}`);
    req.header.set(
      "x-switchboard-organization",
      typeof organizationId === "function" ? organizationId() : organizationId,
    );
    return next(req);
  };
}

/** The gRPC-Web transport the client uses (exported to build clients of other services or to
 * share one transport). */
export function createSwitchboardTransport(options: SwitchboardClientOptions): Transport {
  return createGrpcWebTransport({
    baseUrl: options.baseUrl,
    useBinaryFormat: true,
    interceptors: [
      credentialsInterceptor(options.token, options.organizationId),
      ...(options.interceptors ?? []),
    ],
    fetch: options.fetch,
    defaultTimeoutMs: options.defaultTimeoutMs,
  });
}

/** A GatewayService client over gRPC-Web that signs every call with the token and the
 * organization. */
export function createSwitchboardClient(options: SwitchboardClientOptions): SwitchboardClient {
  return createClient(GatewayService, createSwitchboardTransport(options));
}
