/**
 * Desktop notifications and the tab's unread signs.
 *
 * The browser is asked for permission only when the viewer presses "Enable desktop
 * notifications" (never on page load); the choice is remembered in localStorage.
 * While the tab is hidden, a mention notifies (a mention by name even in a muted room:
 * it is addressed to the viewer; the server sends no `@all`/`@here` there), and so
 * does a new message in a room whose notifications the viewer
 * has not muted. The per-room mute is the participant's `notifications_muted` on the
 * server (PUT /chat/rooms/{id}/notifications/), so it follows the viewer to every
 * browser; `notifications.updated` on the presence socket keeps other tabs in step.
 * The unread total of the rooms not muted shows in the tab title ("(3) …") and as a
 * badge drawn on the favicon.
 */
import { rest } from "./client.js";
import { $, displayName, node, report, snippet, toast } from "./dom.js";
import { me, state } from "./state.js";
import { t, tn, fmt } from "./i18n.js";

const STORAGE_KEY = "academia.notifications";
const TITLE_COUNT = /^\(\d+\+?\) /;
const BADGE_SIZE = 64;
// A mention's `unread` frame comes with it: its count must not replace the mention's text.
const MENTION_SHADOW_MS = 5000;

const muted = new Set(); // room ids whose desktop notifications the viewer muted
const hooks = { openRoom: () => {}, renderRoomList: () => {} };
let unseenHere = 0; // messages from others in the open room while the tab was hidden
let faviconImage = null;
let faviconOriginal = "";
let lastBadge = 0;
const mentionedAt = new Map(); // room id -> when its last mention was notified

// --- the choice and the permission ------------------------------------------------------------

function supported() {
  return "Notification" in window;
}

function wanted() {
  try {
    return window.localStorage.getItem(STORAGE_KEY) === "on";
  } catch {
    return false;
  }
}

function remember(on) {
  try {
    window.localStorage.setItem(STORAGE_KEY, on ? "on" : "off");
  } catch {
    // Private windows may refuse storage: the choice lasts this page only.
  }
}

/** Notifications are on: the viewer asked for them and the browser allows them. */
export function notificationsOn() {
  return supported() && wanted() && Notification.permission === "granted";
}

function renderToggle() {
  const button = $("notify-toggle");
  if (!supported()) {
    button.hidden = true;
    return;
  }
  const on = notificationsOn();
  button.hidden = false;
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? t("Desktop notifications on") : t("Enable desktop notifications");
  button.title = on ? t("Turn desktop notifications off") : t("Notify me of mentions and new messages while this tab is hidden");
}

async function toggleNotifications() {
  if (notificationsOn()) {
    remember(false);
    renderToggle();
    toast(t("Desktop notifications are off."), "info");
    return;
  }
  let permission = Notification.permission;
  if (permission === "default") permission = await Notification.requestPermission();
  if (permission !== "granted") {
    remember(false);
    renderToggle();
    toast(t("This browser blocks notifications from this site: allow them in its site settings."));
    return;
  }
  remember(true);
  renderToggle();
  toast(t("Desktop notifications are on for mentions and new messages while this tab is hidden."), "info");
}

// --- per-room mute ----------------------------------------------------------------------------------

export function isMuted(roomId) {
  return muted.has(roomId);
}

function setMuted(roomId, on) {
  if (on) muted.add(roomId);
  else muted.delete(roomId);
  renderMuteButton();
  hooks.renderRoomList();
}

/** The open room's mute button: shown to participants, pressed when muted. */
export function renderMuteButton() {
  const button = $("mute-button");
  const room = state.room;
  button.hidden = !room || !room.my_role;
  if (!room) return;
  const on = muted.has(room.id);
  button.setAttribute("aria-pressed", String(on));
  button.setAttribute("aria-label", on ? t("Unmute notifications") : t("Mute notifications"));
  button.title = on ? t("Notifications muted: unmute this room") : t("Mute this room's notifications");
  button.classList.toggle("icon-btn--active", on);
}

async function toggleMute() {
  const room = state.room;
  if (!room) return;
  try {
    const answer = await rest.setRoomNotifications(room.id, !muted.has(room.id));
    setMuted(answer.room_id, answer.muted);
  } catch (error) {
    report(error);
  }
}

/** The presence socket's `notifications.updated` (this tab's change, or another's). */
export function onNotificationsUpdated(frame) {
  setMuted(frame.room_id, frame.muted);
}

// --- notifying -------------------------------------------------------------------------------------

function hidden() {
  return document.visibilityState === "hidden";
}

function show(roomId, title, body) {
  if (!notificationsOn()) return;
  const notification = new Notification(title, {
    body,
    tag: `academia-room-${roomId}`,
    icon: faviconOriginal || undefined,
  });
  notification.addEventListener("click", () => {
    window.focus();
    notification.close();
    if (state.room?.id !== roomId) hooks.openRoom(roomId);
  });
}

function roomName(roomId) {
  const room = state.rooms.get(roomId) || (state.room?.id === roomId ? state.room : null);
  return room ? room.name : t("a room");
}

/** A `notification` frame (the viewer was mentioned). */
export function notifyMention(roomId, message) {
  if (!hidden()) return;
  mentionedAt.set(roomId, Date.now());
  show(roomId, fmt(t("%(name)s mentioned you in %(room)s"), { name: displayName(message.sender), room: roomName(roomId) }), snippet(message));
}

/** A `message.created` of the open room. */
export function notifyRoomMessage(message) {
  if (!hidden() || !state.room || message.sender.id === me.id || message.message_type === "system") return;
  if (muted.has(message.room_id)) return;
  unseenHere += 1;
  showUnreadTotal();
  show(message.room_id, fmt(t("%(name)s in %(room)s"), { name: displayName(message.sender), room: roomName(message.room_id) }), snippet(message));
}

/** An `unread` frame of a room that is not open: a count that grew means new messages. */
export function notifyUnread(roomId, count, before) {
  if (!hidden() || count <= before || muted.has(roomId) || roomId === state.room?.id) return;
  if (Date.now() - (mentionedAt.get(roomId) || 0) < MENTION_SHADOW_MS) return;
  show(roomId, roomName(roomId), fmt(tn("%(count)s unread message", "%(count)s unread messages", count), { count }));
}

// --- the tab title and the favicon -----------------------------------------------------------------

function unreadTotal() {
  let total = unseenHere;
  for (const room of state.rooms.values()) {
    if (!room.my_role || room.id === state.room?.id || muted.has(room.id)) continue;
    total += room.unread_count || 0;
  }
  return total;
}

function applyTitle(total) {
  const base = document.title.replace(TITLE_COUNT, "");
  const title = total > 0 ? `(${total > 99 ? "99+" : total}) ${base}` : base;
  if (document.title !== title) document.title = title;
}

function iconLink() {
  return document.querySelector('link[rel="icon"]');
}

function drawBadge(total) {
  const link = iconLink();
  if (!link || !faviconImage || !faviconImage.complete) return;
  if (total === 0) {
    link.href = faviconOriginal;
    link.dataset.badge = "0";
    return;
  }
  const canvas = document.createElement("canvas");
  canvas.width = BADGE_SIZE;
  canvas.height = BADGE_SIZE;
  const context = canvas.getContext("2d");
  if (!context) return;
  context.drawImage(faviconImage, 0, 0, BADGE_SIZE, BADGE_SIZE);
  context.fillStyle = "#dc2626";
  context.beginPath();
  context.arc(BADGE_SIZE - 18, 18, 18, 0, Math.PI * 2);
  context.fill();
  context.fillStyle = "#ffffff";
  context.font = "bold 26px system-ui, sans-serif";
  context.textAlign = "center";
  context.textBaseline = "middle";
  context.fillText(total > 9 ? "9+" : String(total), BADGE_SIZE - 18, 19);
  link.href = canvas.toDataURL("image/png");
  link.dataset.badge = String(total);
}

/** The unread total into the tab title and onto the favicon. */
export function showUnreadTotal() {
  const total = unreadTotal();
  applyTitle(total);
  if (total !== lastBadge) {
    lastBadge = total;
    drawBadge(total);
  }
}

function loadFavicon() {
  const link = iconLink();
  if (!link) return;
  faviconOriginal = link.href;
  faviconImage = new Image();
  faviconImage.addEventListener("load", () => drawBadge(lastBadge));
  faviconImage.src = faviconOriginal;
}

// --- wiring ----------------------------------------------------------------------------------------

/**
 * `openRoom` (a notification's click opens its room) and `renderRoomList` (the list
 * marks muted rooms) come from the modules above this one.
 */
export function bindNotifications({ openRoom, renderRoomList }) {
  hooks.openRoom = openRoom;
  hooks.renderRoomList = renderRoomList;
  loadFavicon();
  renderToggle();
  $("notify-toggle").addEventListener("click", () => toggleNotifications().catch(report));
  $("mute-button").addEventListener("click", toggleMute);
  document.addEventListener("visibilitychange", () => {
    if (hidden()) return;
    unseenHere = 0;
    showUnreadTotal();
  });
  // Whoever renames the tab (opening a room) keeps the count in front of the name.
  const title = document.querySelector("title");
  if (title) new MutationObserver(() => applyTitle(unreadTotal())).observe(title, { childList: true });
  rest.mutedRooms().then((answer) => {
    for (const roomId of answer.muted_rooms) muted.add(roomId);
    renderMuteButton();
    hooks.renderRoomList();
  }, report);
}

/** The room list's sign for a muted room (for roomlist.js). */
export function mutedSign() {
  return node("span", { className: "room-link__muted", text: "🔕", attrs: { "aria-hidden": "true", title: t("Notifications muted") } });
}
