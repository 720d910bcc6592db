/**
 * The room list in the sidebar with its unread and mention badges, and the read
 * marks that clear them for the open room.
 */
import { rest } from "./client.js";
import { el, node, roomPath } from "./dom.js";
import { isMuted, mutedSign, showUnreadTotal } from "./notify.js";
import { state } from "./state.js";
import { t, tn, fmt } from "./i18n.js";

export const TYPE_LABELS = { public: t("Public"), private: t("Private"), course: t("Course"), support: t("Support") };
const TYPE_ICONS = { public: "#", private: "🔒", course: "🎓", support: "🛟" };
const READ_DELAY_MS = 400;

export async function loadRooms() {
  const rooms = await rest.listRooms();
  state.rooms = new Map(rooms.map((room) => [room.id, room]));
  renderRoomList();
}

function roomListItem(room) {
  const unread = room.id === state.room?.id ? 0 : room.unread_count || 0;
  const mentions = room.id === state.room?.id ? 0 : state.mentions.get(room.id) || 0;
  const link = node("a", {
    className: "room-link",
    attrs: { href: roomPath(room.id) },
  });
  link.dataset.roomId = String(room.id);
  if (state.room && state.room.id === room.id) link.setAttribute("aria-current", "page");
  if (unread > 0) link.classList.add("room-link--unread");
  link.append(
    node("span", { className: `room-link__icon room-link__icon--${room.chat_type}`, text: TYPE_ICONS[room.chat_type] || "#", attrs: { "aria-hidden": "true" } }),
    node("span", { className: "room-link__name", text: room.name }),
  );
  const labels = [TYPE_LABELS[room.chat_type] || room.chat_type];
  if (isMuted(room.id)) {
    link.append(mutedSign());
    labels.push(t("notifications muted"));
  }
  if (mentions > 0) {
    link.append(node("span", { className: "badge badge--mention", text: "@", attrs: { "aria-hidden": "true" } }));
    labels.push(fmt(tn("%(count)s mention", "%(count)s mentions", mentions), { count: mentions }));
  }
  if (unread > 0) {
    link.append(node("span", { className: "badge", text: unread > 99 ? "99+" : String(unread), attrs: { "aria-hidden": "true" } }));
    labels.push(fmt(t("%(count)s unread"), { count: unread }));
  }
  link.setAttribute("aria-label", `${room.name}, ${labels.join(", ")}`);
  return node("li", {}, [link]);
}

export function renderRoomList() {
  const filter = el.roomFilter.value.trim().toLowerCase();
  const rooms = [...state.rooms.values()].filter(
    (room) => room.is_active !== false || room.my_role || room.id === state.room?.id,
  ).filter((room) => !filter || room.name.toLowerCase().includes(filter));
  const mine = rooms.filter((room) => room.my_role);
  const others = rooms.filter((room) => !room.my_role);
  const items = [];
  if (mine.length) {
    items.push(node("li", { className: "room-list__section", text: t("Your rooms"), attrs: { role: "presentation" } }));
    items.push(...mine.map(roomListItem));
  }
  if (others.length) {
    items.push(node("li", { className: "room-list__section", text: t("Discover"), attrs: { role: "presentation" } }));
    items.push(...others.map(roomListItem));
  }
  const focused = el.roomList.contains(document.activeElement) ? document.activeElement.dataset.roomId : undefined;
  el.roomList.replaceChildren(...items);
  // A live update redraws the list: a keyboard user keeps their place in it.
  if (focused) el.roomList.querySelector(`[data-room-id="${CSS.escape(focused)}"]`)?.focus();
  el.roomListEmpty.hidden = rooms.length > 0;
  showUnreadTotal();
}

// --- read marks -----------------------------------------------------------------------

export function scheduleRead() {
  clearTimeout(state.readTimer);
  state.readTimer = setTimeout(markRead, READ_DELAY_MS);
}

function markRead() {
  const room = state.room;
  if (!room || !room.my_role || document.visibilityState !== "visible") return;
  let latest = 0;
  for (const id of state.messages.keys()) if (id > latest) latest = id;
  // Sent on the room socket only; connection.ready schedules it again after a reconnect.
  if (!latest || latest <= state.lastReadSent || !state.chat || !state.chat.isOpen) return;
  state.lastReadSent = latest;
  room.unread_count = 0;
  const listed = state.rooms.get(room.id);
  if (listed) listed.unread_count = 0;
  state.mentions.delete(room.id);
  renderRoomList();
  state.chat.read(latest);
}
