/**
 * Type declarations of client.js, the Academia Chat browser client: its API and
 * the shapes of the objects and frames it hands out (protocol.md's names).
 */

/** This module's version (semver); CHANGELOG.md lists what each one added. */
export declare const VERSION: string;
/** The socket protocol this client speaks: `connection.ready`'s `protocol`. */
export declare const PROTOCOL: 1;

// --- objects -------------------------------------------------------------------------------

export type Id = number;
/** ISO 8601 with time zone. */
export type Timestamp = string;

export interface User {
  id: Id;
  username: string;
  display_name: string;
}

export type ChatType = "public" | "private" | "course" | "support";
export type Role = "member" | "moderator" | "admin";
export type Status = "online" | "away" | "busy" | "offline";

export interface Room {
  id: Id;
  name: string;
  description: string;
  chat_type: ChatType;
  course: Id | null;
  created_by: User;
  is_active: boolean;
  max_participants: number;
  participant_count: number;
  last_seq: number;
  /** Filled for the viewer in REST answers and connection.ready; null in broadcasts. */
  my_role: Role | null;
  unread_count: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface Participant {
  user: User;
  role: Role;
  joined_at: Timestamp;
  is_active: boolean;
  is_muted: boolean;
}

export interface FileInfo {
  url: string;
  name: string;
  size: number;
  content_type: string;
  thumbnail_url: string | null;
  width: number | null;
  height: number | null;
  /** The first lines of a text attachment, else null. */
  preview?: string | null;
}

export interface Reaction {
  emoji: string;
  count: number;
  user_ids: Id[];
}

export interface Message {
  id: Id;
  room_id: Id;
  sender: User;
  message_type: "text" | "image" | "file" | "system";
  content: string;
  content_html: string;
  mentions: Id[];
  reply_to: Id | null;
  client_id: string | null;
  file: FileInfo | null;
  reactions: Reaction[];
  is_edited: boolean;
  is_deleted: boolean;
  is_question: boolean;
  /** On a question: its endorsed answer (a reply to it). */
  endorsed_answer_id: Id | null;
  /** This reply is its question's endorsed answer. */
  is_endorsed: boolean;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** A question of a room's questions view, with its endorsed answer. */
export interface Question {
  question: Message;
  answer: Message | null;
}

export type QuestionStatus = "open" | "answered";

/** A private question to a course room's staff: seen by its asker and the staff only. */
export interface StaffQuestion {
  id: Id;
  room_id: Id;
  asker: User;
  content: string;
  content_html: string;
  status: QuestionStatus;
  answer: string | null;
  answer_html: string | null;
  answered_by: User | null;
  answered_at: Timestamp | null;
  created_at: Timestamp;
}

export interface Presence {
  user: User;
  status: Status;
  last_seen: Timestamp | null;
  is_typing: boolean;
  current_room: Id | null;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface HistoryPage {
  /** Oldest first. */
  results: Message[];
  older: string | null;
  newer: string | null;
}

export interface WsTicket {
  ticket: string;
  /** Seconds the ticket stays valid; it is good for one handshake. */
  expires_in: number;
}

// --- server frames -------------------------------------------------------------------------

export interface ConnectionReadyFrame {
  type: "connection.ready";
  /** The socket protocol version (1); it changes only when the contract breaks. */
  protocol: number;
  room: Room;
  user: User;
  last_seq: number;
}

export interface ResyncRequiredFrame {
  type: "resync.required";
}

/** Persisted room events: `seq` grows by exactly 1 per room. */
interface RoomEventBase {
  room_id: Id;
  seq: number;
  details?: Record<string, unknown>;
}

export interface MessageEventFrame extends RoomEventBase {
  type: "message.created" | "message.updated" | "message.deleted";
  message: Message;
}

export interface ReactionEventFrame extends RoomEventBase {
  type: "reaction.added" | "reaction.removed";
  message_id: Id;
  emoji: string;
  user: User;
}

export interface ParticipantEventFrame extends RoomEventBase {
  type: "participant.joined" | "participant.left" | "participant.updated";
  participant: Participant;
  /** The system message the change wrote. */
  message?: Message;
}

export interface RoomUpdatedFrame extends RoomEventBase {
  type: "room.updated";
  room: Room;
  message?: Message;
}

export type RoomEventFrame =
  | MessageEventFrame
  | ReactionEventFrame
  | ParticipantEventFrame
  | RoomUpdatedFrame;

export interface TypingFrame {
  type: "typing";
  room_id: Id;
  user: User;
  is_typing: boolean;
}

export interface PresenceFrame {
  type: "presence";
  user: User;
  status: Status;
  last_seen: Timestamp | null;
}

export interface PongFrame {
  type: "pong";
}

export type ErrorCode =
  | "bad_request"
  | "validation_error"
  | "forbidden"
  | "not_found"
  | "edit_window_closed"
  | "room_archived"
  | "muted"
  | "rate_limited"
  | "unavailable";

export interface ErrorFrame {
  type: "error";
  code: ErrorCode;
  detail: string;
  /** The offending frame's client_id, else its type. */
  ref: string | null;
  /** Seconds, with rate_limited. */
  retry_after?: number;
}

export interface PresenceSnapshotFrame {
  type: "presence.snapshot";
  /** The socket protocol version (1). */
  protocol: number;
  users: Presence[];
}

export interface NotificationFrame {
  type: "notification";
  kind: "mention";
  room_id: Id;
  message: Message;
}

export interface UnreadFrame {
  type: "unread";
  room_id: Id;
  unread_count: number;
}

/** To the room's staff (asked) or to the asker and the staff (answered). */
export interface StaffQuestionFrame {
  type: "staff_question.asked" | "staff_question.answered";
  room_id: Id;
  question: StaffQuestion;
}

/** What the room socket sends. */
export type RoomServerFrame =
  | ConnectionReadyFrame
  | ResyncRequiredFrame
  | RoomEventFrame
  | TypingFrame
  | PresenceFrame
  | PongFrame
  | ErrorFrame;

/** What the presence socket sends. */
export type PresenceServerFrame =
  | PresenceSnapshotFrame
  | PresenceFrame
  | NotificationFrame
  | UnreadFrame
  | StaffQuestionFrame
  | PongFrame
  | ErrorFrame;

// --- client frames -------------------------------------------------------------------------

export type RoomClientFrame =
  | {
      type: "message.send";
      client_id: string;
      content: string;
      reply_to: Id | null;
      is_question?: boolean;
    }
  | { type: "message.edit"; message_id: Id; content: string }
  | { type: "message.delete"; message_id: Id }
  | { type: "reaction.add"; message_id: Id; emoji: string }
  | { type: "reaction.remove"; message_id: Id; emoji: string }
  | { type: "question.mark"; message_id: Id; is_question: boolean }
  | { type: "answer.endorse"; message_id: Id }
  | { type: "answer.withdraw"; message_id: Id }
  | { type: "typing"; is_typing: boolean }
  | { type: "read"; message_id: Id }
  | { type: "ping" };

export type PresenceClientFrame =
  | { type: "presence.set"; status: Status }
  | { type: "ping" };

// --- REST ----------------------------------------------------------------------------------

/** A non-2xx answer (status 0: the network failed). */
export declare class ApiError extends Error {
  constructor(status: number, data: unknown);
  status: number;
  /** The parsed body, e.g. {detail, code} or field errors. */
  data: unknown;
  /** The error's stable `code`, when the server gave one. */
  code: string | null;
}

export interface RequestOptions {
  method?: string;
  /** A plain object (sent as JSON) or FormData. */
  body?: unknown;
  signal?: AbortSignal;
}

export interface UploadOptions {
  /** Called with 0..1 as the upload goes. */
  onProgress?: (fraction: number) => void;
}

export interface ConnectionOptions {
  /** The server, e.g. "https://chat.example.edu" (default: this page's origin). */
  baseUrl?: string;
  /** An API token (POST /accounts/token/): `Authorization: Token`, no cookies. */
  token?: string | null;
}

/** Where and how to reach the server; without options, this page's origin with its session. */
export declare class Connection {
  constructor(options?: ConnectionOptions);
  baseUrl: string;
  token: string | null;
  readonly origin: string;
  /** The absolute URL of a server path. */
  url(path: string): string;
  /** A URL the server gave as a path on the server, or null when it points elsewhere. */
  serverPath(url: string): string | null;
  /** ws: or wss: URL of a server path. */
  socketUrl(path: string): string;
  api<T = any>(path: string, options?: RequestOptions): Promise<T>;
  upload<T = any>(path: string, formData: FormData, options?: UploadOptions): Promise<T>;
  wsTicket(): Promise<WsTicket>;
}

/** The REST endpoints, one method each (they reject with ApiError). */
export interface Rest {
  me(): Promise<User>;
  /** Every room the viewer can see (the paginated list followed, 20 pages at most). */
  listRooms(): Promise<Room[]>;
  getRoom(roomId: Id): Promise<Room>;
  createRoom(fields: { name: string; description?: string; chat_type: ChatType }): Promise<Room>;
  joinRoom(roomId: Id): Promise<Participant>;
  leaveRoom(roomId: Id): Promise<null>;
  listMessages(roomId: Id): Promise<HistoryPage>;
  /** A page an earlier answer linked to (`older`, `newer`, `next`): its URL or path. */
  followPage<T = HistoryPage>(url: string): Promise<T>;
  listParticipants(roomId: Id): Promise<Participant[]>;
  updateParticipant(
    roomId: Id,
    userId: Id,
    changes: Partial<Pick<Participant, "role" | "is_muted">>,
  ): Promise<Participant>;
  removeParticipant(roomId: Id, userId: Id): Promise<null>;
  /** `formData`: room, file, client_id and an optional content. */
  postFile(formData: FormData, options?: UploadOptions): Promise<Message>;
  getMessage(messageId: Id): Promise<Message>;
  editMessage(messageId: Id, content: string): Promise<Message>;
  deleteMessage(messageId: Id): Promise<null>;
  addReaction(messageId: Id, emoji: string): Promise<Message>;
  removeReaction(messageId: Id, emoji: string): Promise<Message | null>;
  markQuestion(messageId: Id, isQuestion: boolean): Promise<Message>;
  endorseAnswer(messageId: Id): Promise<Message>;
  withdrawAnswer(messageId: Id): Promise<null>;
  /** Newest first; `status` null: every question. */
  listQuestions(roomId: Id, status?: QuestionStatus | null): Promise<Page<Question>>;
  /** Ask a course room's staff privately. */
  askStaff(roomId: Id, content: string): Promise<StaffQuestion>;
  /** Oldest first: every one for the room's staff, one's own otherwise. */
  listStaffQuestions(roomId: Id, status?: QuestionStatus | null): Promise<Page<StaffQuestion>>;
  /** The room's staff answer (again: the answer is replaced). */
  answerStaffQuestion(questionId: Id, content: string): Promise<StaffQuestion>;
}

export type ActionResult<T> = { via: "socket" } | { via: "rest"; result: T };

/** Message actions over the room socket while it is open, else over REST. */
export interface MessageActions {
  edit(chat: ChatClient | null, messageId: Id, content: string): Promise<ActionResult<Message>>;
  delete(chat: ChatClient | null, messageId: Id): Promise<ActionResult<null>>;
  react(chat: ChatClient | null, messageId: Id, emoji: string): Promise<ActionResult<Message>>;
  unreact(
    chat: ChatClient | null,
    messageId: Id,
    emoji: string,
  ): Promise<ActionResult<Message | null>>;
  markQuestion(
    chat: ChatClient | null,
    messageId: Id,
    isQuestion: boolean,
  ): Promise<ActionResult<Message>>;
  endorse(chat: ChatClient | null, messageId: Id): Promise<ActionResult<Message>>;
  withdrawEndorsement(chat: ChatClient | null, messageId: Id): Promise<ActionResult<null>>;
}

export declare function makeRest(connection: Connection): Rest;
export declare function makeMessageActions(rest: Rest): MessageActions;

/** The page's own origin, session cookie and CSRF token. */
export declare const rest: Rest;
export declare const messageActions: MessageActions;
export declare function api<T = any>(path: string, options?: RequestOptions): Promise<T>;
export declare function upload<T = any>(
  path: string,
  formData: FormData,
  options?: UploadOptions,
): Promise<T>;

export declare function readCookie(name: string): string;
/** A URL as a path on this page's origin, or null when it points elsewhere. */
export declare function sameOriginPath(url: string): string | null;
/** The socket URL to open for a configured one (CHAT_WEBSOCKET_URL and friends). */
export declare function resolveSocketUrl(configured: string): string;
export declare function newClientId(): string;

// --- sockets -------------------------------------------------------------------------------

export type SocketState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

/** Resolves to a fresh ticket (POST /accounts/ws-ticket/) for each connection. */
export type TicketSource = () => Promise<string> | string;

export interface SocketOptions {
  /** Seconds between pings (the server's CHAT_HEARTBEAT_INTERVAL). */
  heartbeatInterval?: number;
  /** Reconnect backoff bounds, ms. */
  minDelay?: number;
  maxDelay?: number;
  WebSocketImpl?: typeof WebSocket;
  ticket?: TicketSource | null;
}

export interface StateDetail {
  state: SocketState;
  attempt: number;
  code?: number;
  delay?: number;
}

export interface PendingSend {
  client_id: string;
  content: string;
  reply_to: Id | null;
  is_question: boolean;
}

/** The frames of `F` whose `type` may be `K`. */
type FrameOf<F, K> = F extends { type: infer T } ? (K extends T ? F : never) : never;

type FrameEvents<F extends { type: string }> = {
  [K in F["type"]]: CustomEvent<FrameOf<F, K>>;
};

export interface ChatClientEvents extends FrameEvents<RoomServerFrame> {
  state: CustomEvent<StateDetail>;
  ready: CustomEvent<ConnectionReadyFrame>;
  resync: CustomEvent<ResyncRequiredFrame & { reason?: "gap" }>;
  "auth.required": CustomEvent<{ code: number }>;
  denied: CustomEvent<{ code: number }>;
  "send.pending": CustomEvent<PendingSend>;
  "send.failed": CustomEvent<{ client_id: string; error: ErrorFrame }>;
}

export interface PresenceClientEvents extends FrameEvents<PresenceServerFrame> {
  state: CustomEvent<StateDetail>;
  ready: CustomEvent<PresenceSnapshotFrame>;
  "auth.required": CustomEvent<{ code: number }>;
  denied: CustomEvent<{ code: number }>;
}

declare class ReconnectingSocket<Events> extends EventTarget {
  readonly state: SocketState;
  readonly isOpen: boolean;
  connect(): void;
  /** Close for good (no reconnect). */
  close(): void;
  /** Drop the socket and connect again at once. */
  reconnectNow(): void;
  sendFrame(frame: { type: string; [field: string]: unknown }): boolean;
  addEventListener<K extends keyof Events & string>(
    type: K,
    listener: (event: Events[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
}

export interface ChatClientOptions extends SocketOptions {
  /** The room socket base, e.g. "wss://host/ws/chat/". */
  url: string;
  roomId: Id;
  /** The room's last_seq when its history was loaded (replay from there). */
  lastSeq?: number | null;
}

/** One room's socket: seq tracking, replay, local echo and resend by client_id. */
export declare class ChatClient extends ReconnectingSocket<ChatClientEvents> {
  constructor(options: ChatClientOptions);
  roomId: Id;
  lastSeq: number | null;
  /** Reconnect from `lastSeq` (after reloading history for `resync`). */
  restart(lastSeq: number): void;
  /** Echoed at once ("send.pending"), resent until confirmed; returns the client_id. */
  /** `anonymous`: to classmates (course rooms, students; the page sends no typing then). */
  send(content: string, options?: { replyTo?: Id | null; isQuestion?: boolean; anonymous?: boolean }): string;
  discard(clientId: string): void;
  edit(messageId: Id, content: string): boolean;
  delete(messageId: Id): boolean;
  react(messageId: Id, emoji: string): boolean;
  unreact(messageId: Id, emoji: string): boolean;
  markQuestion(messageId: Id, isQuestion: boolean): boolean;
  endorse(messageId: Id): boolean;
  withdrawEndorsement(messageId: Id): boolean;
  typing(isTyping: boolean): boolean;
  read(messageId: Id): boolean;
}

export interface PresenceClientOptions extends SocketOptions {
  url: string;
}

/** The user's own stream: presence, mentions, unread counts. */
export declare class PresenceClient extends ReconnectingSocket<PresenceClientEvents> {
  constructor(options: PresenceClientOptions);
  /** Set the user's status; kept across reconnects. */
  setStatus(status: Status): boolean;
}

// --- a client for a page on another origin -----------------------------------------------

export interface ClientOptions extends ConnectionOptions {
  /** Resolves to socket tickets (default, with `token`: POST /accounts/ws-ticket/). */
  ticket?: TicketSource | null;
  /** The room socket base (default: the server's /ws/chat/). */
  chatSocketUrl?: string;
  /** The presence socket (default: the server's /ws/presence/). */
  presenceSocketUrl?: string;
}

export interface Client {
  VERSION: string;
  connection: Connection;
  rest: Rest;
  messageActions: MessageActions;
  /** The room's socket, not connected yet. */
  room(roomId: Id, options?: Partial<Omit<ChatClientOptions, "url" | "roomId">>): ChatClient;
  /** The user's presence socket, not connected yet. */
  presence(options?: Partial<Omit<PresenceClientOptions, "url">>): PresenceClient;
}

export declare function createClient(options?: ClientOptions): Client;
