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
  /** Seconds a member waits between messages (0: off); moderators and staff are exempt. */
  slow_mode_seconds: number;
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

export interface PollOption {
  id: Id;
  text: string;
  vote_count: number;
  /** Who chose it; null in an anonymous poll, for everyone. */
  voter_ids: Id[] | null;
}

export interface Poll {
  /** The poll's message id. */
  id: Id;
  question: string;
  allows_multiple: boolean;
  is_anonymous: boolean;
  closes_at: Timestamp | null;
  closed_at: Timestamp | null;
  is_closed: boolean;
  options: PollOption[];
  voter_count: number;
  /** The viewer's options in the poll's own REST answers; null elsewhere. */
  my_votes?: Id[] | null;
}

export interface Pin {
  message: Message;
  pinned_by: User;
  pinned_at: Timestamp;
  /** For the room's staff: participants (the sender aside) who read up to it; else null. */
  seen_count: number | null;
  audience_count: number | null;
}

/** The office-hours queue as everyone sees it (queue.updated): ids and positions. */
export interface Queue {
  is_open: boolean;
  entries: { user_id: Id; position: number }[];
}

/** The queue as the viewer may see it (REST): names for the room's staff only. */
export interface QueueView {
  room_id: Id;
  is_open: boolean;
  length: number;
  my_position: number | null;
  entries: { user: User; position: number; joined_at: Timestamp }[] | null;
}

export interface Message {
  id: Id;
  room_id: Id;
  sender: User;
  message_type: "text" | "image" | "file" | "system" | "poll";
  content: string;
  content_html: string;
  mentions: Id[];
  reply_to: Id | null;
  client_id: string | null;
  file: FileInfo | null;
  reactions: Reaction[];
  /** The poll of a `poll` message, else null. */
  poll: Poll | null;
  is_edited: boolean;
  is_deleted: boolean;
  is_question: boolean;
  /** On a question: its endorsed answer (a reply to it). */
  endorsed_answer_id: Id | null;
  /** This reply is its question's endorsed answer. */
  is_endorsed: boolean;
  /** Replies in its thread (deleted ones aside), and when the newest was sent. */
  reply_count: number;
  last_reply_at: Timestamp | null;
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

/** Email about mentions and answers missed while offline; without an address nothing is sent. */
export type EmailNotificationsMode = "never" | "batched" | "immediately";

export interface EmailNotifications {
  email_notifications: EmailNotificationsMode;
  has_email: boolean;
}

export interface Presence {
  user: User;
  status: Status;
  last_seen: Timestamp | null;
  is_typing: boolean;
  current_room: Id | null;
}

export type ReportReason = "spam" | "harassment" | "off_topic" | "other";
export type ReportResolution = "dismiss" | "hide" | "mute";

/** A message reported to its room's moderators (only they and staff see reports). */
export interface Report {
  id: Id;
  room_id: Id;
  message: Message;
  reporter: User | null;
  reason: ReportReason;
  note: string;
  status: "open" | "resolved";
  resolution: ReportResolution | null;
  resolved_by: User | null;
  resolution_note: string;
  resolved_at: Timestamp | null;
  created_at: Timestamp;
}

/** A user banned from a public or support room. */
export interface Ban {
  user: User;
  banned_by: User | null;
  reason: string;
  created_at: Timestamp;
}

export type AuditVia = "rest" | "socket" | "admin" | "system";

/** One moderation action of a room's audit log. */
export interface AuditEntry {
  id: Id;
  room_id: Id;
  /** mute, unmute, role_change, remove, ban, unban, room_update, archive, hide, endorse, unendorse, pin, unpin, report_resolve */
  action: string;
  actor: User | null;
  target_user: User | null;
  message_id: Id | null;
  details: Record<string, unknown>;
  via: AuditVia;
  created_at: Timestamp;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** A message that matched a search, its room, and a snippet of its text. */
/** A message's thread as `getThread` answers it. */
export interface ThreadPage extends HistoryPage {
  parent: Message;
  unread_count: number;
  last_read_id: Id | null;
}

/** Where the viewer is in a thread. */
export interface ThreadState {
  message_id: Id;
  unread_count: number;
  last_read_id: Id | null;
}

export interface SearchHit {
  message: Message;
  room: Pick<Room, "id" | "name" | "chat_type">;
  /** HTML: the text around the first match, escaped, matches inside <mark>. */
  highlight: string;
}

export interface SearchFilters {
  room?: Id;
  sender?: Id;
  has_file?: boolean;
  /** YYYY-MM-DD, both included. */
  date_from?: string;
  date_to?: string;
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

export interface MessagePinnedFrame extends RoomEventBase {
  type: "message.pinned";
  /** Its counts are null here: the room's staff read them from listPins. */
  pin: Pin;
}

export interface MessageUnpinnedFrame extends RoomEventBase {
  type: "message.unpinned";
  message_id: Id;
}

export interface PollUpdatedFrame extends RoomEventBase {
  type: "poll.updated";
  /** As everyone sees it: `my_votes` null. */
  poll: Poll;
}

export interface QueueUpdatedFrame extends RoomEventBase {
  type: "queue.updated";
  queue: Queue;
}

/** A message's thread changed: a reply was sent or deleted. */
export interface ThreadUpdatedFrame extends RoomEventBase {
  type: "thread.updated";
  message_id: Id;
  reply_count: number;
  last_reply_at: Timestamp | null;
}

export type RoomEventFrame =
  | MessageEventFrame
  | ReactionEventFrame
  | ParticipantEventFrame
  | RoomUpdatedFrame
  | MessagePinnedFrame
  | MessageUnpinnedFrame
  | PollUpdatedFrame
  | QueueUpdatedFrame
  | ThreadUpdatedFrame;

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
  | "slow_mode"
  | "unavailable";

export interface ErrorFrame {
  type: "error";
  code: ErrorCode;
  detail: string;
  /** The offending frame's client_id, else its type. */
  ref: string | null;
  /** Seconds, with rate_limited and slow_mode. */
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

/** To the student taken from `room_id`'s queue: the private room opened with `staff`. */
export interface QueueTakenFrame {
  type: "queue.taken";
  room_id: Id;
  private_room: Room;
  staff: User;
}

/** To each moderator of the room (not the reported message's author). */
export interface ReportFrame {
  type: "report.created" | "report.resolved";
  room_id: Id;
  report: Report;
}

export interface UnreadFrame {
  type: "unread";
  room_id: Id;
  unread_count: number;
}

/** The user muted or unmuted a room's desktop notifications (in another tab, say). */
export interface NotificationsUpdatedFrame {
  type: "notifications.updated";
  room_id: Id;
  muted: boolean;
}

/** To the room's staff and the asker (asked) or to the asker and the staff (answered);
 * on their presence sockets and their sockets of that room. */
export interface StaffQuestionFrame {
  type: "staff_question.asked" | "staff_question.answered";
  room_id: Id;
  question: StaffQuestion;
}

/** To the reader's own sockets: their marker in a thread moved (`message_id`: its first message). */
export interface ThreadReadFrame {
  type: "thread.read";
  room_id: Id;
  message_id: Id;
  unread_count: number;
  last_read_id: Id | null;
}

/** To the room's staff: who wrote an anonymous post (its message.created names no one). */
export interface AnonymousAuthorFrame {
  type: "anonymous.author";
  room_id: Id;
  message_id: Id;
  author: User;
}

/** What the room socket sends. */
export type RoomServerFrame =
  | ConnectionReadyFrame
  | ResyncRequiredFrame
  | RoomEventFrame
  | TypingFrame
  | PresenceFrame
  | StaffQuestionFrame
  | AnonymousAuthorFrame
  | ThreadReadFrame
  | PongFrame
  | ErrorFrame;

/** What the presence socket sends. */
export type PresenceServerFrame =
  | PresenceSnapshotFrame
  | PresenceFrame
  | NotificationFrame
  | UnreadFrame
  | QueueTakenFrame
  | ReportFrame
  | NotificationsUpdatedFrame
  | StaffQuestionFrame
  | AnonymousAuthorFrame
  | ThreadReadFrame
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
  | { type: "message.pin"; message_id: Id }
  | { type: "message.unpin"; message_id: Id }
  | {
      type: "poll.create";
      question: string;
      options: string[];
      allows_multiple?: boolean;
      is_anonymous?: boolean;
      closes_at?: Timestamp | null;
      client_id?: string | null;
    }
  | { type: "poll.vote"; poll_id: Id; option_ids: Id[] }
  | { type: "poll.close"; poll_id: Id }
  | { type: "office_hours.set"; open: boolean }
  | { type: "queue.join" }
  | { type: "queue.leave" }
  | { type: "queue.next" }
  | { type: "staff_question.ask"; content: string }
  | { type: "staff_question.answer"; question_id: Id; content: string }
  | { type: "typing"; is_typing: boolean }
  | { type: "read"; message_id: Id }
  | { type: "thread.read"; thread_id: Id; message_id: Id }
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
  /** Aborting it cancels the upload (ApiError with status 0 and code "cancelled"). */
  signal?: AbortSignal;
}

export interface EmojiEntry {
  emoji: string;
  /** e.g. "thumbs up" (`:thumbs_up:` renders it) */
  name: string;
  /** Other shortcodes without colons, e.g. ["thumbsup", "+1"]. */
  aliases: string[];
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
  me(): Promise<User & { language: string }>;
  setLanguage(language: string): Promise<User & { language: string }>;
  /** Every room the viewer can see (the paginated list followed, 20 pages at most). */
  listRooms(): Promise<Room[]>;
  getRoom(roomId: Id): Promise<Room>;
  createRoom(fields: { name: string; description?: string; chat_type: ChatType }): Promise<Room>;
  joinRoom(roomId: Id): Promise<Participant>;
  leaveRoom(roomId: Id): Promise<null>;
  listMessages(roomId: Id): Promise<HistoryPage>;
  /** The page of a room's history centred on a message (`older` and `newer` link onwards). */
  listMessagesAround(roomId: Id, messageId: Id): Promise<HistoryPage>;
  getThread(messageId: Id, options?: { before?: Id | null }): Promise<ThreadPage>;
  markThreadRead(messageId: Id, replyId: Id): Promise<ThreadState>;
  listUnreadThreads(roomId: Id): Promise<ThreadState[]>;
  /** Best matches first, in every room the viewer may see. */
  searchMessages(q: string, filters?: SearchFilters): Promise<Page<SearchHit>>;
  /** A page an earlier answer linked to (`older`, `newer`, `next`): its URL or path. */
  followPage<T = HistoryPage>(url: string): Promise<T>;
  listParticipants(roomId: Id): Promise<Participant[]>;
  updateParticipant(
    roomId: Id,
    userId: Id,
    changes: Partial<Pick<Participant, "role" | "is_muted">>,
  ): Promise<Participant>;
  inviteParticipant(roomId: Id, username: string): Promise<Participant>;
  removeParticipant(roomId: Id, userId: Id): Promise<null>;
  updateRoom(
    roomId: Id,
    fields: Partial<Pick<Room, "name" | "description" | "max_participants" | "slow_mode_seconds">>,
  ): Promise<Room>;
  listBans(roomId: Id): Promise<Ban[]>;
  banUser(roomId: Id, userId: Id, reason?: string): Promise<Ban>;
  unbanUser(roomId: Id, userId: Id): Promise<null>;
  reportMessage(messageId: Id, reason: ReportReason, note?: string): Promise<Report>;
  listReports(roomId: Id, status?: "open" | "resolved" | null): Promise<Page<Report>>;
  resolveReport(reportId: Id, action: ReportResolution, note?: string): Promise<Report>;
  /** The room's moderation audit log, newest first (moderators and staff). */
  listAudit(roomId: Id): Promise<Page<AuditEntry>>;
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
  listPins(roomId: Id): Promise<Pin[]>;
  pinMessage(messageId: Id): Promise<Pin>;
  unpinMessage(messageId: Id): Promise<null>;
  createPoll(fields: {
    room: Id;
    question: string;
    options: string[];
    allows_multiple?: boolean;
    is_anonymous?: boolean;
    closes_at?: Timestamp | null;
    client_id?: string | null;
  }): Promise<Message>;
  getPoll(pollId: Id): Promise<Poll>;
  votePoll(pollId: Id, optionIds: Id[]): Promise<Poll>;
  closePoll(pollId: Id): Promise<Poll>;
  getQueue(roomId: Id): Promise<QueueView>;
  setOfficeHours(roomId: Id, open: boolean): Promise<QueueView>;
  joinQueue(roomId: Id): Promise<QueueView>;
  leaveQueue(roomId: Id): Promise<null>;
  takeNextInQueue(roomId: Id): Promise<{ room: Room; user: User }>;
  /** `content` as sending it to the room would render it (nothing is stored). */
  renderPreview(
    roomId: Id,
    content: string,
    options?: { signal?: AbortSignal },
  ): Promise<{ content_html: string }>;
  /** The emoji picker's catalogue. */
  emojiCatalogue(): Promise<EmojiEntry[]>;
  /** Rooms whose desktop notifications the viewer muted. */
  mutedRooms(): Promise<{ muted_rooms: Id[] }>;
  /** Mute or unmute a room's desktop notifications (participants only). */
  setRoomNotifications(roomId: Id, muted: boolean): Promise<{ room_id: Id; muted: boolean }>;
  /** Email about mentions and answers missed while offline. */
  emailNotifications(): Promise<EmailNotifications>;
  /** Choose never, batched (one email once things are quiet) or immediately. */
  setEmailNotifications(mode: EmailNotificationsMode): Promise<EmailNotifications>;
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
  /** The network changed (the browser's `online`/`offline`): connect again now; nothing once closed for good. */
  networkChanged(): void;
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
  pin(messageId: Id): boolean;
  unpin(messageId: Id): boolean;
  vote(pollId: Id, optionIds: Id[]): boolean;
  closePoll(pollId: Id): boolean;
  /** Move the read marker of thread `threadId` to its reply `messageId` (thread.read). */
  readThread(threadId: Id, messageId: Id): boolean;
  /** Ask the room's staff privately (course rooms); answered by staff_question.asked. */
  askStaff(content: string): boolean;
  answerStaffQuestion(questionId: Id, content: string): boolean;
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
