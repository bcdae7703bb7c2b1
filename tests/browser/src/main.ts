// The browser test page: signs in to the gateway with @switchboard/client (gRPC-Web), loads
// "me" and the Assigned tab, follows StreamInboxEvents (reconnecting with the resume cursor),
// and exposes everything on window.__switchboard for driver.mjs.
//
// Query string: ?gateway=http://127.0.0.1:PORT&token=JWT&org=org_...

import {
  Code,
  ConnectError,
  GetMeResponseSchema,
  InboxEventKind,
  InboxEventSchema,
  InboxItemSchema,
  createSwitchboardClient,
  describeError,
  toJson,
  type InboxEvent,
} from "@switchboard/client";

type CallState = "pending" | "ok" | "unimplemented" | "error";

interface PageError {
  call: string;
  /** Status code name, e.g. "Unimplemented". */
  code: string;
  message: string;
  /** ErrorInfo reason (ErrorReason number; 0 when none). */
  reason: number;
}

interface State {
  config: { gateway: string; org: string; hasToken: boolean };
  /** GetMe: the signed-in agent (JSON), once answered. */
  me: unknown;
  meState: CallState;
  /** ListAssignedConversations: items (JSON) of the last load. */
  assigned: unknown[];
  assignedState: CallState;
  /** How many times the Assigned tab was (re)loaded successfully. */
  assignedLoads: number;
  /** StreamInboxEvents. */
  stream: {
    state: "connecting" | "open" | "unimplemented" | "error" | "closed";
    /** Resume cursor of the last event handled. */
    cursor: string;
    connects: number;
    /** Messages received on the stream (any kind, keepalives included): once > 0, the gateway
     * is delivering to this subscription. */
    messages: number;
    keepalives: number;
  };
  /** A gRPC-Web server stream through the same edge, independent of the inbox RPCs: the
   * gateway's grpc.health.v1.Health/Watch, read frame by frame with fetch. */
  healthWatch: {
    state: "pending" | "streaming" | "closed" | "error";
    /** Data frames read before the probe stopped. */
    frames: number;
    /** HealthCheckResponse.status of the first frame (1 = SERVING). */
    firstStatus: number | null;
    error: string;
  };
  /** Every non-keepalive event received (JSON), deduplicated by event_id. */
  events: unknown[];
  errors: PageError[];
  /** True once GetMe, the Assigned tab, the stream (delivering, unimplemented or failed) and
   * the Health/Watch probe each settled. */
  ready: boolean;
}

const params = new URLSearchParams(location.search);
const gateway = params.get("gateway") ?? "";
const token = params.get("token") ?? "";
const org = params.get("org") ?? "";

const state: State = {
  config: { gateway, org, hasToken: token !== "" },
  me: null,
  meState: "pending",
  assigned: [],
  assignedState: "pending",
  assignedLoads: 0,
  stream: { state: "connecting", cursor: "", connects: 0, messages: 0, keepalives: 0 },
  healthWatch: { state: "pending", frames: 0, firstStatus: null, error: "" },
  events: [],
  errors: [],
  ready: false,
};
(window as unknown as { __switchboard: State }).__switchboard = state;

const client = createSwitchboardClient({
  baseUrl: gateway,
  token: () => token,
  organizationId: org,
});

function record(call: string, err: unknown): CallState {
  const e = describeError(err);
  state.errors.push({ call, code: e.codeName, message: e.message, reason: e.reason });
  render();
  return e.code === Code.Unimplemented ? "unimplemented" : "error";
}

function settle() {
  state.ready =
    state.meState !== "pending" &&
    state.assignedState !== "pending" &&
    state.stream.state !== "connecting" &&
    // An open stream counts once something came through it (the first KEEPALIVE at the
    // latest): the subscription is live, later events reach this page.
    (state.stream.state !== "open" || state.stream.messages > 0) &&
    state.healthWatch.state !== "pending";
  render();
}

function render() {
  const out = document.getElementById("state");
  if (out) out.textContent = JSON.stringify(state, null, 2);
}

async function loadMe() {
  try {
    const me = await client.getMe({});
    state.me = toJson(GetMeResponseSchema, me);
    state.meState = "ok";
  } catch (err) {
    state.meState = record("GetMe", err);
  }
  settle();
}

async function loadAssigned() {
  try {
    const res = await client.listAssignedConversations({ page: { pageSize: 50 } });
    state.assigned = res.items.map((item) => toJson(InboxItemSchema, item));
    state.assignedState = "ok";
    state.assignedLoads += 1;
  } catch (err) {
    state.assignedState = record("ListAssignedConversations", err);
  }
  settle();
}

const seen = new Set<string>();

function handle(event: InboxEvent) {
  if (event.cursor) state.stream.cursor = event.cursor;
  if (event.kind === InboxEventKind.KEEPALIVE) {
    state.stream.keepalives += 1;
    // Quiet for a while: refresh the Assigned tab too (offers may also time out).
    if (state.assignedState === "ok") void loadAssigned();
    render();
    return;
  }
  if (event.kind === InboxEventKind.RESYNC_REQUIRED) {
    // The cursor was not honoured: reload the lists, then go on with the live events.
    void loadAssigned();
  }
  if (event.eventId && seen.has(event.eventId)) return; // at-least-once delivery
  if (event.eventId) seen.add(event.eventId);
  state.events.push(toJson(InboxEventSchema, event));
  if (
    event.kind === InboxEventKind.CONVERSATION_ASSIGNED ||
    event.kind === InboxEventKind.CONVERSATION_OPENED ||
    event.kind === InboxEventKind.CONVERSATION_TRANSFERRED ||
    event.kind === InboxEventKind.CONVERSATION_QUEUED
  ) {
    // The Assigned tab changed: reload it, as the console does.
    void loadAssigned();
  }
  render();
}

async function follow() {
  for (let attempt = 0; ; attempt++) {
    const abort = new AbortController();
    try {
      state.stream.connects += 1;
      const stream = client.streamInboxEvents(
        { resumeCursor: state.stream.cursor },
        {
          signal: abort.signal,
          onHeader: () => {
            // Response headers arrived: the server accepted the stream.
            state.stream.state = "open";
            settle();
          },
        },
      );
      for await (const res of stream) {
        if (state.stream.state !== "open") {
          state.stream.state = "open";
          settle();
        }
        attempt = 0;
        state.stream.messages += 1;
        if (res.event) handle(res.event);
        settle();
      }
      state.stream.state = "closed";
    } catch (err) {
      const s = record("StreamInboxEvents", err);
      if (s === "unimplemented") {
        state.stream.state = "unimplemented";
        settle();
        // No live events from this gateway: poll the Assigned tab instead.
        setInterval(() => {
          if (state.assignedState === "ok") void loadAssigned();
        }, 1000);
        return;
      }
      const code = ConnectError.from(err).code;
      if (code === Code.Unauthenticated || code === Code.PermissionDenied || code === Code.InvalidArgument) {
        state.stream.state = "error";
        settle();
        return;
      }
      state.stream.state = "error";
    }
    settle();
    // Reconnect with the cursor of the last event handled: the gateway replays what was missed.
    await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
  }
}

/** Reads grpc.health.v1.Health/Watch as gRPC-Web frames (5-byte header: flag, big-endian
 * length) until the first data frame, then checks the response stays open briefly. */
async function probeStreaming() {
  const probe = state.healthWatch;
  const abort = new AbortController();
  try {
    const res = await fetch(`${gateway}/grpc.health.v1.Health/Watch`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      // HealthCheckRequest{service: ""}: one data frame with an empty message.
      body: new Uint8Array([0, 0, 0, 0, 0]),
      signal: abort.signal,
    });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    const grpcStatus = res.headers.get("grpc-status");
    if (grpcStatus !== null && grpcStatus !== "0") throw new Error(`grpc-status ${grpcStatus}`);
    const reader = res.body.getReader();
    let buf = new Uint8Array(0);
    for (;;) {
      const next = await Promise.race([
        reader.read(),
        new Promise<"quiet">((r) => setTimeout(() => r("quiet"), probe.frames > 0 ? 300 : 10000)),
      ]);
      if (next === "quiet") {
        // Still open after the first frame: a live server stream.
        probe.state = probe.frames > 0 ? "streaming" : "error";
        if (probe.frames === 0) probe.error = "no frame within 10 s";
        break;
      }
      if (next.done) {
        probe.state = "closed";
        break;
      }
      const joined = new Uint8Array(buf.length + next.value.length);
      joined.set(buf);
      joined.set(next.value, buf.length);
      buf = joined;
      while (buf.length >= 5) {
        const len = new DataView(buf.buffer, buf.byteOffset + 1, 4).getUint32(0);
        if (buf.length < 5 + len) break;
        const flag = buf[0];
        const msg = buf.subarray(5, 5 + len);
        if ((flag & 0x80) === 0) {
          probe.frames += 1;
          // HealthCheckResponse: field 1 (status) as a varint, absent when 0 (UNKNOWN).
          if (probe.firstStatus === null) probe.firstStatus = msg[0] === 0x08 ? msg[1] : 0;
        }
        buf = buf.subarray(5 + len);
      }
    }
  } catch (err) {
    probe.state = "error";
    probe.error = String(err);
  } finally {
    abort.abort();
    settle();
  }
}

void probeStreaming();
void loadMe();
void loadAssigned();
void follow();
render();
