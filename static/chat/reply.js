/** The reply bar above the composer: which message the next one answers. */
import { displayName, el, snippet } from "./dom.js";
import { state } from "./state.js";

export function startReply(message) {
  state.replyTo = message;
  el.replyName.textContent = displayName(message.sender);
  el.replySnippet.textContent = snippet(message);
  el.replyBar.hidden = false;
  el.input.focus();
}

export function cancelReply() {
  state.replyTo = null;
  el.replyBar.hidden = true;
}
