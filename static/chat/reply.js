/** The reply bar above the composer: which message the next one answers. */
import { displayName, el, snippet } from "./dom.js";
import { canPostAnonymously, isMine, state } from "./state.js";

export function startReply(message) {
  state.replyTo = message;
  // Answering one's own anonymous post under one's name would tell who asked it.
  if (message.is_anonymous && isMine(message) && canPostAnonymously() && !el.anonymousInput.checked) {
    el.anonymousInput.checked = true;
    el.anonymousInput.dispatchEvent(new Event("change"));
  }
  el.replyName.textContent = displayName(message.sender);
  el.replySnippet.textContent = snippet(message);
  el.replyBar.hidden = false;
  el.input.focus();
}

export function cancelReply() {
  state.replyTo = null;
  el.replyBar.hidden = true;
}
