/**
 * The office-hours panel of course and support rooms: whether office hours are
 * open, the queue's length and the viewer's place (live from `queue.updated`,
 * which marks each place by a key that names nobody: the viewer's own is the REST
 * view's `my_key`), "Join queue" / "Leave queue" for
 * students, and for the room's staff "Open/Close office hours", "Take next" and
 * who waits (names come from the REST view, which only staff get).
 */
import { rest } from "./client.js";
import { displayName, el, node, report } from "./dom.js";
import { canManageRoom, canPost, state } from "./state.js";
import { t, fmt } from "./i18n.js";

const QUEUE_ROOMS = new Set(["course", "support"]);

function hasQueue(room = state.room) {
  return Boolean(room && QUEUE_ROOMS.has(room.chat_type));
}

export function renderQueue() {
  const queue = state.queue;
  const staff = canManageRoom();
  el.queue.hidden = !hasQueue() || !queue || (!queue.is_open && !staff);
  if (el.queue.hidden) return;
  const active = state.room.is_active;
  let text = queue.is_open ? t("Office hours are open") : t("Office hours are closed");
  if (queue.is_open) text += ` · ${fmt(t("%(count)s waiting"), { count: queue.length })}`;
  if (queue.my_position) text += ` · ${fmt(t("You are number %(position)s"), { position: queue.my_position })}`;
  el.queueStatus.textContent = text;
  el.queueJoin.hidden = staff || !queue.is_open || Boolean(queue.my_position) || !canPost();
  el.queueLeave.hidden = !queue.my_position;
  el.queueNext.hidden = !staff || !queue.is_open || !active;
  el.queueNext.disabled = queue.length === 0;
  el.officeHoursToggle.hidden = !staff || !active;
  el.officeHoursToggle.textContent = queue.is_open ? t("Close office hours") : t("Open office hours");
  const entries = staff && queue.entries ? queue.entries : [];
  el.queueList.replaceChildren(...entries.map((entry) => node("li", { text: displayName(entry.user) })));
  el.queueList.hidden = entries.length === 0;
}

export async function loadQueue(roomId, token) {
  state.queue = null;
  if (!hasQueue()) {
    renderQueue();
    return;
  }
  const view = await rest.getQueue(roomId);
  if (token !== state.openToken) return;
  state.queue = view;
  renderQueue();
}

/** A `queue.updated` event: the viewer's place by their key; staff re-read the names. */
export function onQueueUpdated(frame) {
  const myKey = state.queue ? state.queue.my_key : null;
  const mine = myKey ? frame.queue.entries.find((entry) => entry.key === myKey) : null;
  state.queue = {
    ...(state.queue || {}),
    is_open: frame.queue.is_open,
    length: frame.queue.length,
    my_position: mine ? mine.position : null,
  };
  renderQueue();
  if (canManageRoom()) loadQueue(state.room.id, state.openToken).catch(report);
}

async function act(call) {
  const room = state.room;
  if (!room) return;
  try {
    const view = await call(room.id);
    if (view && state.room && state.room.id === room.id) {
      state.queue = view;
      renderQueue();
    }
  } catch (error) {
    report(error);
  }
}

/** `onTaken({room})`: the staff member's own answer to "Take next" (open the new room). */
export function bindQueue(onTaken) {
  el.queueJoin.addEventListener("click", () => act((roomId) => rest.joinQueue(roomId)));
  el.queueLeave.addEventListener("click", () => act(async (roomId) => {
    await rest.leaveQueue(roomId);
    return rest.getQueue(roomId);
  }));
  el.officeHoursToggle.addEventListener("click", () => act((roomId) => rest.setOfficeHours(roomId, !state.queue.is_open)));
  el.queueNext.addEventListener("click", async () => {
    if (!state.room) return;
    try {
      onTaken(await rest.takeNextInQueue(state.room.id));
    } catch (error) {
      report(error);
    }
  });
}
