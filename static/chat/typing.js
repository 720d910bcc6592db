/**
 * Typing: the "Ada is typing…" line above the composer, and the viewer's own
 * typing frames (sent at most every half typing timeout while the composer has text).
 */
import { displayName, el } from "./dom.js";
import { config, me, state } from "./state.js";
import { t, fmt } from "./i18n.js";

/** The room socket's `typing` frame. */
export function onTypingFrame(frame) {
  if (frame.user.id === me.id || frame.room_id !== state.room?.id) return;
  const previous = state.typers.get(frame.user.id);
  if (previous) clearTimeout(previous.timer);
  if (frame.is_typing) {
    const timer = setTimeout(() => {
      state.typers.delete(frame.user.id);
      renderTyping();
    }, config.typingTimeout);
    state.typers.set(frame.user.id, { user: frame.user, timer });
  } else {
    state.typers.delete(frame.user.id);
  }
  renderTyping();
}

function renderTyping() {
  const names = [...state.typers.values()].map((entry) => displayName(entry.user));
  let text = "";
  if (names.length === 1) text = fmt(t("%(name)s is typing…"), { name: names[0] });
  else if (names.length === 2) text = fmt(t("%(first)s and %(second)s are typing…"), { first: names[0], second: names[1] });
  else if (names.length > 2) text = t("Several people are typing…");
  el.typing.textContent = text;
}

/** Someone's message arrived: they are no longer typing it. */
export function forgetTyper(userId) {
  const entry = state.typers.get(userId);
  if (entry) clearTimeout(entry.timer); // else it would expire their next typing early
  state.typers.delete(userId);
  renderTyping();
}

export function clearTypers() {
  for (const entry of state.typers.values()) clearTimeout(entry.timer);
  state.typers.clear();
  renderTyping();
}

/** The composer's text changed: tell the room when typing starts, goes on or stops. */
export function noteTyping() {
  if (!state.chat || !state.chat.isOpen) return;
  const now = Date.now();
  const every = Math.max(1000, Math.floor(config.typingTimeout / 2));
  if (el.input.value.trim() && now - state.lastTypingSent > every) {
    state.lastTypingSent = now;
    state.chat.typing(true);
  } else if (!el.input.value.trim() && state.lastTypingSent) {
    state.lastTypingSent = 0;
    state.chat.typing(false);
  }
}

/** The message was sent: typing has stopped. */
export function stopTyping() {
  if (state.lastTypingSent) {
    state.chat.typing(false);
    state.lastTypingSent = 0;
  }
}
