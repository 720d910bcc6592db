/**
 * The pinned bar at the top of the room: its pinned messages, newest first; a
 * click goes to the message. The room's staff pin and unpin, and see how many
 * participants have read each pin ("Seen by N of M", re-read when pins change,
 * every half minute while the page is visible, or on "Refresh").
 */
import { rest } from "./client.js";
import { displayName, el, node, report, snippet } from "./dom.js";
import { canManageRoom, state } from "./state.js";
import { t, fmt } from "./i18n.js";

function jumpTo(messageId) {
  const target = document.getElementById(`message-${messageId}`);
  if (!target) return;
  target.scrollIntoView({ block: "center" });
  target.classList.add("msg--flash");
  setTimeout(() => target.classList.remove("msg--flash"), 1200);
}

export function isPinned(messageId) {
  return state.pins.some((pin) => pin.message.id === messageId);
}

export function renderPins() {
  el.pinList.replaceChildren();
  el.pins.hidden = !state.room || state.pins.length === 0;
  for (const pin of state.pins) {
    const message = pin.message;
    const go = node("button", {
      className: "pins__text",
      attrs: { type: "button", title: fmt(t("Pinned by %(name)s"), { name: displayName(pin.pinned_by) }) },
    }, [node("span", { className: "pins__icon", text: "📌", attrs: { "aria-hidden": "true" } }),
      node("strong", { text: `${displayName(message.sender)}: ` }), node("span", { text: snippet(message) })]);
    go.addEventListener("click", () => jumpTo(message.id));
    const item = node("li", { className: "pins__item" }, [go]);
    item.dataset.messageId = String(message.id);
    if (pin.seen_count !== null && pin.audience_count !== null) {
      item.append(node("span", { className: "pins__seen", text: fmt(t("Seen by %(seen)s of %(audience)s"), { seen: pin.seen_count, audience: pin.audience_count }) }));
    }
    if (canManageRoom() && state.room.is_active) {
      const unpin = node("button", { className: "link-btn", text: t("Unpin"), attrs: { type: "button", "aria-label": fmt(t("Unpin: %(text)s"), { text: snippet(message) }) } });
      unpin.addEventListener("click", () => togglePin(message));
      item.append(unpin);
    }
    el.pinList.append(item);
  }
  if (state.pins.length && canManageRoom()) {
    const refresh = node("button", { className: "link-btn", text: t("Refresh"), attrs: { type: "button", "aria-label": t("Refresh who has seen the pins") } });
    refresh.addEventListener("click", () => loadPins(state.room.id, state.openToken).catch(report));
    el.pinList.append(node("li", { className: "pins__item pins__item--tools" }, [refresh]));
  }
}

export async function loadPins(roomId, token) {
  const pins = await rest.listPins(roomId);
  if (token !== state.openToken) return;
  state.pins = pins;
  renderPins();
}

function refreshCounts() {
  if (canManageRoom() && state.room) loadPins(state.room.id, state.openToken).catch(report);
}

const SEEN_REFRESH_MS = 30_000;

setInterval(() => {
  if (document.visibilityState === "visible" && state.pins.length) refreshCounts();
}, SEEN_REFRESH_MS);

export function onPinned(frame) {
  const known = isPinned(frame.pin.message.id);
  state.pins = [frame.pin, ...state.pins.filter((pin) => pin.message.id !== frame.pin.message.id)];
  renderPins();
  if (!known) refreshCounts();
}

export function onUnpinned(frame) {
  state.pins = state.pins.filter((pin) => pin.message.id !== frame.message_id);
  renderPins();
}

/** Pin or unpin (the room's staff); the room's event updates the bar. */
export async function togglePin(message) {
  try {
    // The room's event follows on an open socket; the answer shows it either way.
    if (isPinned(message.id)) {
      await rest.unpinMessage(message.id);
      onUnpinned({ message_id: message.id });
    } else {
      onPinned({ pin: await rest.pinMessage(message.id) });
    }
  } catch (error) {
    report(error);
  }
}
