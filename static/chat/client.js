/**
 * Academia Chat client: the wire contract (docs: protocol.md) for browsers.
 *
 * No framework, no build step: an ES module, versioned (`VERSION`; `PROTOCOL` is the
 * socket protocol it speaks, `connection.ready`'s `protocol`), with TypeScript
 * declarations beside it (client.d.ts).
 *
 * The chat's own page uses the module's defaults: same origin, session cookie and
 * CSRF token.
 *
 *   import { ChatClient, PresenceClient, rest } from "/static/chat/client.js";
 *   const room = await rest.getRoom(7);
 *   const chat = new ChatClient({ url: "wss://host/ws/chat/", roomId: 7, lastSeq: room.last_seq });
 *   chat.addEventListener("message.created", (e) => show(e.detail.message));
 *   chat.connect();
 *   chat.send("Hello");
 *
 * A page on another origin (listed in the server's CHAT_CORS_ALLOWED_ORIGINS) makes
 * its own client with the server's base URL and an API token; its sockets open
 * with a fresh single-use ticket (POST /accounts/ws-ticket/) on every (re)connect:
 *
 *   import { createClient } from "https://chat.example.edu/static/chat/client.js";
 *   const academia = createClient({ baseUrl: "https://chat.example.edu", token });
 *   const [room] = await academia.rest.listRooms();
 *   const chat = academia.room(room.id, { lastSeq: room.last_seq });
 *   chat.connect();
 *
 * Instead of a token, `ticket` may be a function that resolves to a ticket the
 * page got some other way (its own backend, say).
 *
 * Every REST path lives here (`rest`), and so does the choice between the socket and
 * REST for message actions (`messageActions`): the page never writes a URL.
 *
 * Every server frame is dispatched as a CustomEvent named after its `type`, with
 * the frame as `detail`. Besides those, the clients dispatch:
 *   "state"          {state: "connecting"|"open"|"reconnecting"|"closed", attempt, code}
 *   "ready"          the connection.ready frame (room socket) / presence.snapshot (presence)
 *   "resync"         the room's history is no longer replayable: reload it through REST,
 *                    then call restart(newLastSeq)
 *   "auth.required"  close code 4401, or no ticket could be had (401/403): the
 *                    session or token ended (go to the login page)
 *   "denied"         close codes 4403/4404: the client stops; detail {code}
 *   "send.pending"   a message was queued locally: detail {client_id, content, reply_to}
 *   "send.failed"    the server refused a queued message: detail {client_id, error}
 */

/** This module's version (semver); CHANGELOG.md lists what each one added. */
export const VERSION = "1.4.0";

/** The socket protocol this client speaks: `connection.ready`'s `protocol`. */
export const PROTOCOL = 1;

const CSRF_SAFE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** The client's own messages in the page's language when Django's JavaScript catalogue
 * is loaded (the chat page loads it); English elsewhere, so the module stays standalone. */
const t = (message) => (typeof globalThis.gettext === "function" ? globalThis.gettext(message) : message);

/** The value of a cookie, or "" (used for Django's `csrftoken`). */
export function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

/** What an error answer says to a person: its `detail`, else a field's first error. */
function describeError(status, data) {
  if (data && typeof data === "object") {
    if (data.detail) return data.detail;
    for (const [field, problems] of Object.entries(data)) {
      const first = Array.isArray(problems) ? problems[0] : problems;
      if (typeof first === "string") return `${field}: ${first}`;
    }
  }
  return `HTTP ${status}`;
}

export class ApiError extends Error {
  constructor(status, data) {
    super(String(describeError(status, data)));
    this.status = status;
    this.data = data;
    this.code = data && typeof data === "object" ? data.code || null : null;
  }
}

/** The parsed JSON of an answer's text (non-JSON text becomes {detail}). */
function parseBody(text, statusText) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) || statusText };
  }
}

/**
 * Where and how to reach the server. Without options: this page's origin with the
 * session cookie and the CSRF token (the chat's own page). With `baseUrl` (another
 * origin) and `token`: `Authorization: Token`, no cookies.
 */
export class Connection {
  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl]  the server, e.g. "https://chat.example.edu" (default: this page's origin)
   * @param {string|null} [options.token]  an API token (POST /accounts/token/)
   */
  constructor({ baseUrl = "", token = null } = {}) {
    this.baseUrl = baseUrl;
    this.token = token;
  }

  /** The absolute URL of a server path such as "/chat/rooms/". */
  url(path) {
    return new URL(path, this.baseUrl || window.location.href).toString();
  }

  /** The server's origin. */
  get origin() {
    return new URL(this.url("/")).origin;
  }

  /** A URL the server gave (`next`, `older`) as a path on the server, or null when it points elsewhere. */
  serverPath(url) {
    try {
      const parsed = new URL(url, this.url("/"));
      return parsed.origin === this.origin ? parsed.pathname + parsed.search : null;
    } catch {
      return null;
    }
  }

  /** The socket URL for a path such as "/ws/presence/" (ws: for http servers, wss: for https). */
  socketUrl(path) {
    const url = new URL(this.url(path));
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.toString();
  }

  headers(method) {
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = `Token ${this.token}`;
    else if (!CSRF_SAFE.has(method.toUpperCase())) headers["X-CSRFToken"] = readCookie("csrftoken");
    return headers;
  }

  /**
   * JSON over fetch. `body` may be a plain object (sent as JSON) or FormData.
   * Resolves to the parsed JSON (null for 204); rejects with ApiError for non-2xx answers.
   */
  async api(path, { method = "GET", body = undefined, signal = undefined } = {}) {
    const headers = this.headers(method);
    let payload = body;
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers,
        body: payload,
        credentials: this.token ? "omit" : "same-origin",
        signal,
      });
    } catch (error) {
      if (error && error.name === "AbortError") throw error;
      // The browser's own words ("Failed to fetch") tell a person nothing.
      throw new ApiError(0, { detail: t("The server cannot be reached; try again in a moment."), code: "unreachable" });
    }
    const text = response.status === 204 ? "" : await response.text();
    const data = parseBody(text, response.statusText);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  /**
   * Multipart upload with progress (fetch cannot report upload progress).
   * `onProgress(fraction)` is called with 0..1; aborting `signal` cancels the upload
   * (it rejects with ApiError status 0, code "cancelled"). Resolves to the parsed JSON answer.
   */
  upload(path, formData, { onProgress = () => {}, signal = undefined } = {}) {
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) {
        reject(new ApiError(0, { detail: t("Upload cancelled."), code: "cancelled" }));
        return;
      }
      const xhr = new XMLHttpRequest();
      if (signal) signal.addEventListener("abort", () => xhr.abort(), { once: true });
      xhr.open("POST", this.url(path));
      xhr.withCredentials = !this.token;
      for (const [name, value] of Object.entries(this.headers("POST"))) {
        xhr.setRequestHeader(name, value);
      }
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => {
        const data = parseBody(xhr.responseText, xhr.statusText || `HTTP ${xhr.status}`);
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(1);
          resolve(data);
        } else {
          reject(new ApiError(xhr.status, data));
        }
      });
      xhr.addEventListener("error", () => reject(new ApiError(0, { detail: t("Network error.") })));
      xhr.addEventListener("abort", () => reject(new ApiError(0, { detail: t("Upload cancelled."), code: "cancelled" })));
      xhr.send(formData);
    });
  }

  /** A single-use ticket for one socket handshake: resolves to {ticket, expires_in}. */
  wsTicket() {
    return this.api("/accounts/ws-ticket/", { method: "POST" });
  }
}

const sameOrigin = new Connection();

/** `Connection.api` of the page's own origin (session cookie and CSRF token). */
export function api(path, options) {
  return sameOrigin.api(path, options);
}

/** `Connection.upload` of the page's own origin. */
export function upload(path, formData, options) {
  return sameOrigin.upload(path, formData, options);
}

/**
 * A URL the server gave (a page link, a file) as a path on this page's origin, or
 * null when it points elsewhere: the page follows and shows same-origin links only.
 */
export function sameOriginPath(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.origin === window.location.origin ? parsed.pathname + parsed.search : null;
  } catch {
    return null;
  }
}

/**
 * The socket URL to open for a configured one (CHAT_WEBSOCKET_URL and friends).
 * When the configured host is the built-in default `localhost:8000` and the page
 * is served from another host, the page's own host is used with the configured
 * path (ws: for http pages, wss: for https pages); an https page never opens ws:.
 */
export function resolveSocketUrl(configured) {
  const url = new URL(configured, window.location.href);
  if (url.host === "localhost:8000" && window.location.host !== "localhost:8000") {
    url.host = window.location.host;
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  }
  if (window.location.protocol === "https:" && url.protocol === "ws:") url.protocol = "wss:";
  return url.toString();
}

const REST_ROOT = "/chat";
const ROOM_LIST_MAX_PAGES = 20;

/** A paginated answer's items (lists that are not paginated come as plain arrays). */
function itemsOf(data) {
  return Array.isArray(data) ? data : data.results;
}

/**
 * The REST endpoints (README: "REST API") of a server, one method each. Each
 * resolves to the parsed answer (null for 204) and rejects with ApiError.
 */
export function makeRest(connection) {
  const api = (path, options) => connection.api(path, options);
  const upload = (path, formData, options) => connection.upload(path, formData, options);
  return {
    /** The signed-in USER, with their `language` setting. */
    me() {
      return api("/accounts/me/");
    },

    /** Set the viewer's language: "en", "de", or "" to follow the browser's. */
    setLanguage(language) {
      return api("/accounts/me/", { method: "PATCH", body: { language } });
    },

    /** Every room the viewer can see: the paginated list followed to its end (20 pages at most). */
    async listRooms() {
      let path = `${REST_ROOT}/rooms/`;
      const rooms = [];
      for (let page = 0; path && page < ROOM_LIST_MAX_PAGES; page += 1) {
        const data = await api(path);
        rooms.push(...itemsOf(data));
        path = Array.isArray(data) ? null : data.next && connection.serverPath(data.next);
      }
      return rooms;
    },

    getRoom(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/`);
    },

    /** `fields`: {name, description, chat_type}. Resolves to the new ROOM. */
    createRoom(fields) {
      return api(`${REST_ROOT}/rooms/`, { method: "POST", body: fields });
    },

    /** Resolves to the viewer's new PARTICIPANT. */
    joinRoom(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/join/`, { method: "POST" });
    },

    leaveRoom(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/leave/`, { method: "POST" });
    },

    /** The newest page of a room's history: {results, older} (`older` links the page before). */
    listMessages(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/messages/`);
    },

    /** The page of a room's history centred on a message: {results, older, newer}. */
    listMessagesAround(roomId, messageId) {
      return api(`${REST_ROOT}/rooms/${roomId}/messages/?around=${encodeURIComponent(messageId)}`);
    },

    /**
     * Search every room the viewer may see: {count, next, previous, results: [SEARCH_HIT]},
     * best matches first. `filters`: {room, sender, has_file, date_from, date_to}, each optional.
     */
    searchMessages(q, filters = {}) {
      const query = new URLSearchParams({ q });
      for (const [name, value] of Object.entries(filters)) {
        if (value !== undefined && value !== null && value !== "") query.set(name, String(value));
      }
      return api(`${REST_ROOT}/messages/search/?${query}`);
    },

    /**
     * A message's thread: {parent, results (replies, oldest first), older, newer,
     * unread_count, last_read_id}; the newest replies without `before`.
     */
    getThread(messageId, { before = null } = {}) {
      const query = before ? `?before=${encodeURIComponent(before)}` : "";
      return api(`${REST_ROOT}/messages/${messageId}/thread/${query}`);
    },

    /** Move the viewer's marker in a thread to a reply; resolves to {message_id, unread_count, last_read_id}. */
    markThreadRead(messageId, replyId) {
      return api(`${REST_ROOT}/messages/${messageId}/thread/read/`, { method: "POST", body: { message_id: replyId } });
    },

    /** The room's threads the viewer follows that have unread replies: [{message_id, unread_count, last_read_id}]. */
    listUnreadThreads(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/threads/`);
    },

    /** A page that an earlier answer linked to (`older`, `newer`, `next`): its URL or its path. */
    followPage(url) {
      const path = connection.serverPath(url);
      if (path === null) return Promise.reject(new ApiError(0, { detail: t("Not a URL of this server.") }));
      return api(path);
    },

    /** Resolves to the room's PARTICIPANT list. */
    async listParticipants(roomId) {
      return itemsOf(await api(`${REST_ROOT}/rooms/${roomId}/participants/`));
    },

    /** A moderator's change to a participant (`changes`: e.g. {is_muted}); resolves to the PARTICIPANT. */
    updateParticipant(roomId, userId, changes) {
      return api(`${REST_ROOT}/rooms/${roomId}/participants/${userId}/`, { method: "PATCH", body: changes });
    },

    /** A moderator invites a user by their exact username; resolves to the PARTICIPANT. */
    inviteParticipant(roomId, username) {
      return api(`${REST_ROOT}/rooms/${roomId}/participants/`, { method: "POST", body: { username } });
    },

    removeParticipant(roomId, userId) {
      return api(`${REST_ROOT}/rooms/${roomId}/participants/${userId}/`, { method: "DELETE" });
    },

    /** A moderator's change to the room (`fields`: e.g. {slow_mode_seconds}); resolves to the ROOM. */
    updateRoom(roomId, fields) {
      return api(`${REST_ROOT}/rooms/${roomId}/`, { method: "PATCH", body: fields });
    },

    /** Who is banned from the room: [BAN], newest first (moderators). */
    listBans(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/bans/`);
    },

    /** Ban a user from a public or support room; resolves to the BAN. */
    banUser(roomId, userId, reason = "") {
      return api(`${REST_ROOT}/rooms/${roomId}/bans/`, { method: "POST", body: { user: userId, reason } });
    },

    unbanUser(roomId, userId) {
      return api(`${REST_ROOT}/rooms/${roomId}/bans/${userId}/`, { method: "DELETE" });
    },

    /** Report a message to its room's moderators (`reason`: spam, harassment, off_topic, other); resolves to the REPORT. */
    reportMessage(messageId, reason, note = "") {
      return api(`${REST_ROOT}/messages/${messageId}/report/`, { method: "POST", body: { reason, note } });
    },

    /** The room's reports, newest first (`status`: "open", "resolved" or null for all): one page. */
    listReports(roomId, status = "open") {
      const query = status ? `?status=${encodeURIComponent(status)}` : "";
      return api(`${REST_ROOT}/rooms/${roomId}/reports/${query}`);
    },

    /** Resolve a report (`action`: dismiss, hide or mute); resolves to the REPORT. */
    resolveReport(reportId, action, note = "") {
      return api(`${REST_ROOT}/reports/${reportId}/resolve/`, { method: "POST", body: { action, note } });
    },

    /** The room's moderation audit log, newest first: one page {count, next, previous, results}. */
    listAudit(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/audit/`);
    },

    /**
     * A file message: `formData` holds room, file, client_id and an optional content.
     * Aborting `signal` cancels it (ApiError code "cancelled").
     */
    postFile(formData, { onProgress, signal } = {}) {
      return upload(`${REST_ROOT}/messages/`, formData, { onProgress, signal });
    },

    /** `content` as sending it to the room would render it: resolves to {content_html}. */
    renderPreview(roomId, content, { signal } = {}) {
      return api(`${REST_ROOT}/render/`, { method: "POST", body: { room: roomId, content }, signal });
    },

    /** The emoji picker's catalogue: [{emoji, name, aliases}]. */
    emojiCatalogue() {
      return api(`${REST_ROOT}/emoji/`);
    },

    getMessage(messageId) {
      return api(`${REST_ROOT}/messages/${messageId}/`);
    },

    /** Resolves to the edited MESSAGE. */
    editMessage(messageId, content) {
      return api(`${REST_ROOT}/messages/${messageId}/`, { method: "PATCH", body: { content } });
    },

    deleteMessage(messageId) {
      return api(`${REST_ROOT}/messages/${messageId}/`, { method: "DELETE" });
    },

    addReaction(messageId, emoji) {
      return api(`${REST_ROOT}/messages/${messageId}/react/`, { method: "POST", body: { emoji } });
    },

    removeReaction(messageId, emoji) {
      return api(`${REST_ROOT}/messages/${messageId}/react/`, { method: "DELETE", body: { emoji } });
    },

    /** Mark a message a question (or, with false, no longer one); resolves to the MESSAGE. */
    markQuestion(messageId, isQuestion) {
      return api(`${REST_ROOT}/messages/${messageId}/question/`, { method: isQuestion ? "POST" : "DELETE" });
    },

    /** Endorse a reply as its question's answer; resolves to the reply's MESSAGE. */
    endorseAnswer(messageId) {
      return api(`${REST_ROOT}/messages/${messageId}/endorse/`, { method: "POST" });
    },

    withdrawAnswer(messageId) {
      return api(`${REST_ROOT}/messages/${messageId}/endorse/`, { method: "DELETE" });
    },

    /** A room's questions, newest first, each {question, answer}; `status`: "open", "answered" or null (all). */
    listQuestions(roomId, status = null) {
      const query = status ? `?status=${encodeURIComponent(status)}` : "";
      return api(`${REST_ROOT}/rooms/${roomId}/questions/${query}`);
    },

    /** The room's PIN list, newest first (`seen_count`/`audience_count` for its staff). */
    listPins(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/pins/`);
    },

    /** Resolves to the PIN. */
    pinMessage(messageId) {
      return api(`${REST_ROOT}/messages/${messageId}/pin/`, { method: "POST" });
    },

    unpinMessage(messageId) {
      return api(`${REST_ROOT}/messages/${messageId}/pin/`, { method: "DELETE" });
    },

    /** `fields`: {room, question, options, allows_multiple?, is_anonymous?, closes_at?, client_id?}; resolves to the poll's MESSAGE. */
    createPoll(fields) {
      return api(`${REST_ROOT}/polls/`, { method: "POST", body: fields });
    },

    /** Resolves to the POLL with the viewer's `my_votes`. */
    getPoll(pollId) {
      return api(`${REST_ROOT}/polls/${pollId}/`);
    },

    /** The viewer's whole vote (`[]` takes it back); resolves to the POLL with `my_votes`. */
    votePoll(pollId, optionIds) {
      return api(`${REST_ROOT}/polls/${pollId}/vote/`, { method: "POST", body: { option_ids: optionIds } });
    },

    closePoll(pollId) {
      return api(`${REST_ROOT}/polls/${pollId}/close/`, { method: "POST" });
    },

    /** The office-hours queue as the viewer may see it (QUEUE_VIEW). */
    getQueue(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/queue/`);
    },

    /** The room's staff open or close office hours; resolves to QUEUE_VIEW. */
    setOfficeHours(roomId, open) {
      return api(`${REST_ROOT}/rooms/${roomId}/office-hours/`, { method: "POST", body: { open } });
    },

    /** Resolves to QUEUE_VIEW with the viewer's place. */
    joinQueue(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/queue/`, { method: "POST" });
    },

    leaveQueue(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/queue/`, { method: "DELETE" });
    },

    /** The room's staff take the next student: resolves to {room, user}, the new private ROOM. */
    takeNextInQueue(roomId) {
      return api(`${REST_ROOT}/rooms/${roomId}/queue/next/`, { method: "POST" });
    },

    /** Rooms whose desktop notifications the viewer muted: {muted_rooms: [ids]}. */
    mutedRooms() {
      return api(`${REST_ROOT}/rooms/notifications/`);
    },

    /** Mute or unmute a room's desktop notifications: resolves to {room_id, muted}. */
    setRoomNotifications(roomId, muted) {
      return api(`${REST_ROOT}/rooms/${roomId}/notifications/`, { method: "PUT", body: { muted } });
    },

    /** The viewer's offline email notifications: {email_notifications, has_email}. */
    emailNotifications() {
      return api(`${REST_ROOT}/email-notifications/`);
    },

    /** "never", "batched" or "immediately": resolves to {email_notifications, has_email}. */
    setEmailNotifications(mode) {
      return api(`${REST_ROOT}/email-notifications/`, { method: "PUT", body: { email_notifications: mode } });
    },

    /** Ask a course room's staff privately; resolves to the STAFF_QUESTION. */
    askStaff(roomId, content) {
      return api(`${REST_ROOT}/rooms/${roomId}/staff-questions/`, { method: "POST", body: { content } });
    },

    /** Private questions to a room's staff, oldest first: all of them for its staff, one's own otherwise. */
    listStaffQuestions(roomId, status = null) {
      const query = status ? `?status=${encodeURIComponent(status)}` : "";
      return api(`${REST_ROOT}/rooms/${roomId}/staff-questions/${query}`);
    },

    /** The room's staff answer a private question (again: the answer is replaced). */
    answerStaffQuestion(questionId, content) {
      return api(`${REST_ROOT}/staff-questions/${questionId}/answer/`, { method: "POST", body: { content } });
    },
  };
}

/** The REST endpoints of the page's own origin. */
export const rest = makeRest(sameOrigin);

/**
 * Message actions over the room socket while it is open, else over `rest` (the socket
 * is connecting, reconnecting, closed, or there is none). `chat` is the room's
 * ChatClient or null. Each resolves to {via: "socket"} (the server's event follows
 * on the socket) or {via: "rest", result} (the REST answer; nothing follows on a
 * socket that is not open, so the caller shows the change itself).
 */
export function makeMessageActions(rest) {
  return {
    async edit(chat, messageId, content) {
      if (chat && chat.isOpen) {
        chat.edit(messageId, content);
        return { via: "socket" };
      }
      return { via: "rest", result: await rest.editMessage(messageId, content) };
    },

    async delete(chat, messageId) {
      if (chat && chat.isOpen) {
        chat.delete(messageId);
        return { via: "socket" };
      }
      return { via: "rest", result: await rest.deleteMessage(messageId) };
    },

    async react(chat, messageId, emoji) {
      if (chat && chat.isOpen) {
        chat.react(messageId, emoji);
        return { via: "socket" };
      }
      return { via: "rest", result: await rest.addReaction(messageId, emoji) };
    },

    async unreact(chat, messageId, emoji) {
      if (chat && chat.isOpen) {
        chat.unreact(messageId, emoji);
        return { via: "socket" };
      }
      return { via: "rest", result: await rest.removeReaction(messageId, emoji) };
    },

    async markQuestion(chat, messageId, isQuestion) {
      if (chat && chat.isOpen) {
        chat.markQuestion(messageId, isQuestion);
        return { via: "socket" };
      }
      return { via: "rest", result: await rest.markQuestion(messageId, isQuestion) };
    },

    async endorse(chat, messageId) {
      if (chat && chat.isOpen) {
        chat.endorse(messageId);
        return { via: "socket" };
      }
      return { via: "rest", result: await rest.endorseAnswer(messageId) };
    },

    async withdrawEndorsement(chat, messageId) {
      if (chat && chat.isOpen) {
        chat.withdrawEndorsement(messageId);
        return { via: "socket" };
      }
      return { via: "rest", result: await rest.withdrawAnswer(messageId) };
    },
  };
}

/** `makeMessageActions` for the page's own origin. */
export const messageActions = makeMessageActions(rest);

/** A random id for local echo and idempotent sends. */
export function newClientId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const FATAL_CODES = new Set([4403, 4404]);

/**
 * A WebSocket that reconnects with exponential backoff and jitter, sends a
 * heartbeat `ping` every `heartbeatInterval` seconds and reconnects when the
 * server has been silent for two intervals. With `ticket` (a function that
 * resolves to a ticket from POST /accounts/ws-ticket/) every connection opens
 * with a fresh one, since a ticket is good once.
 */
class ReconnectingSocket extends EventTarget {
  constructor({
    heartbeatInterval = 30,
    minDelay = 500,
    maxDelay = 15000,
    WebSocketImpl = globalThis.WebSocket,
    ticket = null,
  } = {}) {
    super();
    this.heartbeatInterval = heartbeatInterval;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.WebSocketImpl = WebSocketImpl;
    this.ticket = ticket;
    this.socket = null;
    this.state = "idle";
    this.attempt = 0;
    this.stopped = false;
    this.retryTimer = null;
    this.heartbeatTimer = null;
    this.lastFrameAt = 0;
    this.wasOpen = false;
    this.generation = 0;
  }

  /** The URL to open now (subclasses add query parameters). */
  socketUrl() {
    throw new Error("socketUrl() not implemented");
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setState(state, extra = {}) {
    this.state = state;
    this.emit("state", { state, attempt: this.attempt, ...extra });
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === 1;
  }

  connect() {
    this.stopped = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.setState(this.wasOpen ? "reconnecting" : "connecting");
    this.generation += 1;
    if (!this.ticket) {
      this.open(this.socketUrl());
      return;
    }
    const generation = this.generation;
    const current = () => !this.stopped && generation === this.generation;
    Promise.resolve()
      .then(() => this.ticket())
      .then(
        (ticket) => {
          if (!current()) return;
          const url = new URL(this.socketUrl());
          url.searchParams.set("ticket", ticket);
          this.open(url.toString());
        },
        (error) => {
          if (!current()) return;
          const status = error instanceof ApiError ? error.status : 0;
          if (status === 401 || status === 403) {
            this.stopped = true;
            this.setState("closed", { code: status });
            this.emit("auth.required", { code: status });
            return;
          }
          this.scheduleReconnect(undefined);
        },
      );
  }

  open(url) {
    const socket = new this.WebSocketImpl(url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      this.attempt = 0;
      this.lastFrameAt = Date.now();
      this.startHeartbeat();
      this.onOpen();
    });
    socket.addEventListener("message", (event) => {
      if (socket !== this.socket) return;
      this.lastFrameAt = Date.now();
      if (typeof event.data !== "string") return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame.type === "string") this.onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.stopHeartbeat();
      this.onClose(event.code, event.reason);
    });
  }

  /** Close for good (no reconnect). */
  close() {
    this.stopped = true;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000);
    this.setState("closed");
  }

  /**
   * The network changed under the socket (the browser's `online`/`offline` events):
   * connect again now rather than wait for heartbeats to go unanswered. Nothing once
   * closed for good.
   */
  networkChanged() {
    if (!this.stopped) this.reconnectNow();
  }

  /** Drop the current socket and connect again at once (gap, resync). */
  reconnectNow() {
    const socket = this.socket;
    this.socket = null;
    this.stopHeartbeat();
    if (socket) socket.close(1000);
    this.connect();
  }

  sendFrame(frame) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  startHeartbeat() {
    this.stopHeartbeat();
    const intervalMs = Math.max(1, this.heartbeatInterval) * 1000;
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > intervalMs * 2 + 5000) {
        this.reconnectNow();
        return;
      }
      this.sendFrame({ type: "ping" });
    }, intervalMs);
  }

  stopHeartbeat() {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  onOpen() {
    this.wasOpen = true;
  }

  onFrame(frame) {
    this.emit(frame.type, frame);
  }

  onClose(code) {
    if (this.stopped) return;
    if (code === 4401) {
      this.stopped = true;
      this.setState("closed", { code });
      this.emit("auth.required", { code });
      return;
    }
    if (FATAL_CODES.has(code)) {
      this.stopped = true;
      this.setState("closed", { code });
      this.emit("denied", { code });
      return;
    }
    this.scheduleReconnect(code);
  }

  scheduleReconnect(code) {
    const cap = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempt);
    const delay = cap / 2 + Math.random() * (cap / 2);
    this.attempt += 1;
    this.setState("reconnecting", { code, delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}

/** Adds `path` segments to a configured base URL such as "wss://host/ws/chat/". */
function joinUrl(base, segment) {
  return base.endsWith("/") ? `${base}${segment}` : `${base}/${segment}`;
}

/**
 * One room's socket: `seq` tracking, replay after a gap or a reconnect, local
 * echo by `client_id` and resend of unconfirmed messages.
 */
export class ChatClient extends ReconnectingSocket {
  /**
   * @param {object} options
   * @param {string} options.url       the configured room socket base, e.g. "wss://host/ws/chat/"
   * @param {number} options.roomId
   * @param {number|null} [options.lastSeq]  the room's last_seq when its history was loaded
   * @param {(() => Promise<string>|string)|null} [options.ticket]  resolves to a fresh socket
   *   ticket for each connection (pages on another origin); also heartbeatInterval,
   *   minDelay, maxDelay, WebSocketImpl
   */
  constructor({ url, roomId, lastSeq = null, ...options }) {
    super(options);
    this.baseUrl = url;
    this.roomId = roomId;
    this.lastSeq = lastSeq;
    this.pending = new Map();
    this.gapRetries = 0;
  }

  socketUrl() {
    const url = new URL(joinUrl(this.baseUrl, `${this.roomId}/`));
    if (this.lastSeq !== null && this.lastSeq !== undefined) {
      url.searchParams.set("after_seq", String(this.lastSeq));
    }
    return url.toString();
  }

  /** Reconnect from `lastSeq` (after the page reloaded history for `resync`). */
  restart(lastSeq) {
    this.lastSeq = lastSeq;
    this.gapRetries = 0;
    this.reconnectNow();
  }

  onFrame(frame) {
    if (frame.type === "connection.ready") {
      if (this.lastSeq === null || this.lastSeq === undefined) this.lastSeq = frame.last_seq;
      this.setState("open");
      this.emit("ready", frame);
      this.emit(frame.type, frame);
      this.flushPending();
      return;
    }
    if (frame.type === "resync.required") {
      this.gapRetries = 0;
      this.emit("resync", frame);
      this.emit(frame.type, frame);
      return;
    }
    if (typeof frame.seq === "number") {
      if (this.lastSeq !== null && frame.seq <= this.lastSeq) {
        // A repeat. The server answers a resent client_id with its original
        // message.created, which still confirms a message waiting here.
        const clientId = frame.type === "message.created" && frame.message && frame.message.client_id;
        if (clientId && this.pending.has(clientId)) {
          this.pending.delete(clientId);
          this.emit(frame.type, frame);
        }
        return;
      }
      if (this.lastSeq !== null && frame.seq > this.lastSeq + 1) {
        this.gapRetries += 1;
        if (this.gapRetries > 3) {
          this.gapRetries = 0;
          this.emit("resync", { type: "resync.required", reason: "gap" });
          return;
        }
        this.reconnectNow();
        return;
      }
      this.gapRetries = 0;
      this.lastSeq = frame.seq;
      if (frame.type === "message.created" && frame.message && frame.message.client_id) {
        this.pending.delete(frame.message.client_id);
      }
    }
    if (frame.type === "error" && frame.ref && this.pending.has(frame.ref)) {
      this.handleSendError(frame);
    }
    this.emit(frame.type, frame);
  }

  handleSendError(frame) {
    const item = this.pending.get(frame.ref);
    if (frame.code === "rate_limited") {
      const wait = Math.max(1, Number(frame.retry_after) || 1) * 1000;
      setTimeout(() => {
        if (this.pending.has(item.client_id)) this.sendFrame(this.sendFrameFor(item));
      }, wait);
      return;
    }
    this.pending.delete(frame.ref);
    this.emit("send.failed", { client_id: frame.ref, error: frame });
  }

  sendFrameFor(item) {
    const frame = {
      type: "message.send",
      client_id: item.client_id,
      content: item.content,
      reply_to: item.reply_to,
    };
    if (item.is_question) frame.is_question = true;
    if (item.anonymous) frame.anonymous = true;
    return frame;
  }

  flushPending() {
    for (const item of this.pending.values()) this.sendFrame(this.sendFrameFor(item));
  }

  /**
   * Send a message. It is echoed locally at once ("send.pending") and kept until
   * the server's message.created with the same client_id confirms it; unconfirmed
   * messages are sent again after a reconnect. Returns the client_id.
   */
  send(content, { replyTo = null, isQuestion = false, anonymous = false } = {}) {
    const item = {
      client_id: newClientId(), content, reply_to: replyTo, is_question: Boolean(isQuestion), anonymous: Boolean(anonymous),
    };
    this.pending.set(item.client_id, item);
    this.emit("send.pending", { ...item });
    this.sendFrame(this.sendFrameFor(item));
    return item.client_id;
  }

  /** Stop retrying a queued message (the page discards its echo). */
  discard(clientId) {
    this.pending.delete(clientId);
  }

  edit(messageId, content) {
    return this.sendFrame({ type: "message.edit", message_id: messageId, content });
  }

  delete(messageId) {
    return this.sendFrame({ type: "message.delete", message_id: messageId });
  }

  react(messageId, emoji) {
    return this.sendFrame({ type: "reaction.add", message_id: messageId, emoji });
  }

  unreact(messageId, emoji) {
    return this.sendFrame({ type: "reaction.remove", message_id: messageId, emoji });
  }

  markQuestion(messageId, isQuestion) {
    return this.sendFrame({ type: "question.mark", message_id: messageId, is_question: Boolean(isQuestion) });
  }

  endorse(messageId) {
    return this.sendFrame({ type: "answer.endorse", message_id: messageId });
  }

  withdrawEndorsement(messageId) {
    return this.sendFrame({ type: "answer.withdraw", message_id: messageId });
  }

  typing(isTyping) {
    return this.sendFrame({ type: "typing", is_typing: Boolean(isTyping) });
  }

  read(messageId) {
    return this.sendFrame({ type: "read", message_id: messageId });
  }

  pin(messageId) {
    return this.sendFrame({ type: "message.pin", message_id: messageId });
  }

  unpin(messageId) {
    return this.sendFrame({ type: "message.unpin", message_id: messageId });
  }

  vote(pollId, optionIds) {
    return this.sendFrame({ type: "poll.vote", poll_id: pollId, option_ids: optionIds });
  }

  closePoll(pollId) {
    return this.sendFrame({ type: "poll.close", poll_id: pollId });
  }

  /** Move the read marker of the thread `threadId` forward to its reply `messageId`. */
  readThread(threadId, messageId) {
    return this.sendFrame({ type: "thread.read", thread_id: threadId, message_id: messageId });
  }

  askStaff(content) {
    return this.sendFrame({ type: "staff_question.ask", content });
  }

  answerStaffQuestion(questionId, content) {
    return this.sendFrame({ type: "staff_question.answer", question_id: questionId, content });
  }
}

/** The user's own stream: presence snapshot and deltas, mentions, unread counts, private questions to staff. */
export class PresenceClient extends ReconnectingSocket {
  constructor({ url, ...options }) {
    super(options);
    this.url = url;
    this.status = null;
  }

  socketUrl() {
    return this.url;
  }

  onOpen() {
    super.onOpen();
    this.setState("open");
    if (this.status && this.status !== "online") {
      this.sendFrame({ type: "presence.set", status: this.status });
    }
  }

  onFrame(frame) {
    if (frame.type === "presence.snapshot") this.emit("ready", frame);
    this.emit(frame.type, frame);
  }

  /** Set the user's status (online, away, busy); kept across reconnects. */
  setStatus(status) {
    this.status = status;
    return this.sendFrame({ type: "presence.set", status });
  }
}

/**
 * A client of a chat server, usually on another origin (the Academia frontend).
 *
 * @param {object} options
 * @param {string} [options.baseUrl]  the server, e.g. "https://chat.example.edu" (default: this page's origin)
 * @param {string|null} [options.token]  an API token: REST sends `Authorization: Token`,
 *   sockets open with a ticket asked for with it
 * @param {(() => Promise<string>|string)|null} [options.ticket]  resolves to a socket ticket
 *   (instead of asking POST /accounts/ws-ticket/ with the token)
 * @param {string} [options.chatSocketUrl]  the room socket base (default: the server's /ws/chat/)
 * @param {string} [options.presenceSocketUrl]  the presence socket (default: the server's /ws/presence/)
 */
export function createClient({
  baseUrl = "",
  token = null,
  ticket = null,
  chatSocketUrl = undefined,
  presenceSocketUrl = undefined,
} = {}) {
  const connection = new Connection({ baseUrl, token });
  const clientRest = makeRest(connection);
  let socketTicket = ticket;
  if (!socketTicket && token) socketTicket = async () => (await connection.wsTicket()).ticket;
  const chatUrl = chatSocketUrl || connection.socketUrl("/ws/chat/");
  const presenceUrl = presenceSocketUrl || connection.socketUrl("/ws/presence/");
  return {
    VERSION,
    connection,
    rest: clientRest,
    messageActions: makeMessageActions(clientRest),
    /** The room's socket (not connected yet): `options` as ChatClient's, e.g. {lastSeq}. */
    room(roomId, options = {}) {
      return new ChatClient({ ...options, url: chatUrl, roomId, ticket: socketTicket });
    },
    /** The user's presence socket (not connected yet). */
    presence(options = {}) {
      return new PresenceClient({ ...options, url: presenceUrl, ticket: socketTicket });
    },
  };
}
