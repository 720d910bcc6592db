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
  openToken: 0, // bumped when another room (or none) opens: late answers for the old one are dropped
};

export function canModerate(room = state.room) {
  return Boolean(room && MODERATOR_ROLES.has(room.my_role));
}

export function canPost() {
  const participant = state.participants.get(me.id);
  return Boolean(state.room?.my_role && state.room.is_active && !(participant && participant.is_muted) && !state.denied);
}

function withinWindow(message, seconds) {
  return Date.now() - new Date(message.created_at).getTime() < seconds * 1000;
}

export function canEdit(message) {
  return message.sender.id === me.id && !message.is_deleted && message.message_type === "text"
    && withinWindow(message, config.messageEditTimeout) && state.room?.is_active;
}

export function canDelete(message) {
  if (message.is_deleted || message.message_type === "system") return false;
  if (canModerate()) return true;
  return message.sender.id === me.id && withinWindow(message, config.messageDeleteTimeout);
}
