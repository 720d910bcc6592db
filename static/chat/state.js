/**
 * The page's state: the server's configuration, the viewer, what is loaded, and the
 * rules that decide what the viewer may do with it. No DOM here.
 *
 * The configuration comes from the "chat-config" JSON data block in the template
 * (socket URLs, limits, the viewer, the room to open).
 */

export const config = JSON.parse(document.getElementById("chat-config").textContent);
export const me = config.user;

const MODERATOR_ROLES = new Set(["moderator", "admin"]);

export const state = {
  rooms: new Map(), // room id -> ROOM, as listed
  mentions: new Map(), // room id -> mentions seen since the room was last opened
  presence: new Map(), // user id -> online|away|busy|offline
  room: null, // the open ROOM
  chat: null, // the open room's ChatClient
  messages: new Map(), // message id -> MESSAGE of the open room
  participants: new Map(), // user id -> PARTICIPANT of the open room
  threadUnread: new Map(), // message id -> the viewer's unread replies in its thread (followed threads)
  threadFollowed: new Set(), // threads of the open room the viewer is known to follow (read or replied in)
  typers: new Map(), // user id -> {user, timer}
  olderUrl: null,
  loadingOlder: false,
  newerUrl: null, // set while the history shown stops short of the newest (opened around a search hit)
  loadingNewer: false,
  foundId: null, // the search hit the room was opened at, highlighted
  replyTo: null,
  denied: "",
  lastTypingSent: 0,
  readTimer: null,
  lastReadSent: 0,
  bannerTimer: null,
  showedReconnecting: false,
  pins: [], // PIN of the open room, newest first
  myVotes: new Map(), // poll id -> the viewer's option ids, as the poll's REST answers said
  queue: null, // the open room's office-hours queue: {is_open, length, my_position, entries|null}
  slowUntil: 0, // when slow mode lets the viewer send again (ms since the epoch)
  anonymousSent: new Set(), // client_ids of this page's anonymous posts (their echo names no one)
  anonymousAuthors: new Map(), // message id → author, from `anonymous.author` frames (staff only)
  openToken: 0, // bumped when another room (or none) opens: late answers for the old one are dropped
};

export function canModerate(room = state.room) {
  return Boolean(room && MODERATOR_ROLES.has(room.my_role));
}

/** The room's staff (chat.policy.is_room_staff): pins, "seen by" counts, closing polls. */
export function canManageRoom(room = state.room) {
  if (!room) return false;
  return canModerate(room) || Boolean(config.isStaff) || (Boolean(config.isSupportStaff) && room.chat_type === "support");
}

/** Polls: whoever may post; in course rooms, the room's staff. */
export function canCreatePoll() {
  return canPost() && (state.room.chat_type !== "course" || canManageRoom());
}

/** Slow mode holds back members; moderators, admins and staff post freely. */
export function slowModeExempt() {
  return canModerate() || Boolean(config.isStaff);
}

export function canPost() {
  const participant = state.participants.get(me.id);
  return Boolean(state.room?.my_role && state.room.is_active && !(participant && participant.is_muted) && !state.denied);
}

function withinWindow(message, seconds) {
  return Date.now() - new Date(message.created_at).getTime() < seconds * 1000;
}

/** The viewer wrote it: their named posts, and their anonymous ones (REST names the
 * author to them in `anonymous_author`; this page's own are known by client_id). */
export function isMine(message) {
  if (!message.is_anonymous) return message.sender.id === me.id;
  return message.anonymous_author?.id === me.id || state.anonymousSent.has(message.client_id);
}

/** Students of a course room may post anonymously to their classmates. */
export function canPostAnonymously(room = state.room) {
  return Boolean(room && room.chat_type === "course" && room.my_role === "member" && !config.isStaff);
}

/** The room's staff learn who posted anonymously (from REST). */
export function seesAnonymousAuthors(room = state.room) {
  return Boolean(room && (canModerate(room) || config.isStaff));
}

export function canEdit(message) {
  return isMine(message) && !message.is_deleted && message.message_type === "text"
    && withinWindow(message, config.messageEditTimeout) && state.room?.is_active;
}

export function canDelete(message) {
  if (message.is_deleted || message.message_type === "system") return false;
  if (canModerate()) return true;
  return isMine(message) && withinWindow(message, config.messageDeleteTimeout);
}

/** Course rooms, and rooms with a moderator to endorse answers, take questions. */
export function takesQuestions(room = state.room) {
  if (!room) return false;
  if (room.chat_type === "course") return true;
  return [...state.participants.values()].some((p) => MODERATOR_ROLES.has(p.role));
}

/** The sender, and those who endorse answers, mark a message a question. */
export function canMarkQuestion(message) {
  if (message.is_deleted || message.message_type === "system" || !state.room?.is_active) return false;
  return takesQuestions() && (isMine(message) || canModerate());
}

/** Moderators (instructors of a course room) endorse a reply to a question. */
export function canEndorse(message) {
  if (message.is_deleted || !message.reply_to || !state.room?.is_active || !canModerate()) return false;
  const question = state.messages.get(message.reply_to);
  return Boolean(question && question.is_question && !question.is_deleted);
}
