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
  toJson,
  type InboxEvent,
} from "@switchboard/client";

type CallState = "pending" | "ok" | "unimplemented" | "error";

interface PageError {
  call: string;
  code: string;
  message: string;
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
    keepalives: number;
  };
  /** Every non-keepalive event received (JSON), deduplicated by event_id. */
  events: unknown[];
  errors: PageError[];
  /** True once GetMe, the Assigned tab and the stream each settled (ok, unimplemented or
   * error). */
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
  stream: { state: "connecting", cursor: "", connects: 0, keepalives: 0 },
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

function codeName(code: Code): string {
  return Code[code] ?? String(code);
}

function record(call: string, err: unknown): CallState {
  const e = ConnectError.from(err);
  state.errors.push({ call, code: codeName(e.code), message: e.rawMessage });
  render();
  return e.code === Code.Unimplemented ? "unimplemented" : "error";
}

function settle() {
  state.ready =
    state.meState !== "pending" &&
    state.assignedState !== "pending" &&
    state.stream.state !== "connecting";
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
        if (res.event) handle(res.event);
      }
      state.stream.state = "closed";
    } catch (err) {
      const s = record("StreamInboxEvents", err);
      if (s === "unimplemented") {
        state.stream.state = "unimplemented";
        settle();
        return; // nothing to follow until the gateway has the RPC
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

void loadMe();
void loadAssigned();
void follow();
render();
