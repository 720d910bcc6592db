/**
 * Threads: the thread panel (a message, its replies, a composer that replies to
 * it), the viewer's unread replies per thread, and the room events that keep
 * both live (`message.*` of replies, `thread.updated` of their parent).
 */
import { rest, sameOriginPath } from "./client.js";
import { $, el, report, toast } from "./dom.js";
import { pendingMessage, renderMessage, upsertMessage } from "./messages.js";
import { toggleParticipants } from "./participants.js";
import { canPost, config, me, state } from "./state.js";
import { t, fmt } from "./i18n.js";

const READ_DELAY_MS = 400;

const panel = $("thread-panel");
const parentList = $("thread-parent");
const list = $("thread-list");
const body = $("thread-body");
const olderButton = $("thread-older");
const form = $("thread-composer");
const input = $("thread-input");
const sendButton = $("thread-send");

const thread = {
  parentId: null, // the open thread's first message
  olderUrl: null,
  replies: new Map(), // reply id -> MESSAGE
  pending: new Map(), // client id -> a reply sent here and not yet acknowledged (e.g. offline)
  readTimer: null,
  lastRead: 0,
};

/** A copy of a message for the panel: no element id (the room's list owns those), no action bar. */
function panelItem(message) {
  const li = renderMessage(message);
  li.removeAttribute("id");
  li.querySelector(".msg__actions")?.remove();
  li.querySelector(".msg__thread")?.remove();
  li.querySelector(".msg__quote")?.remove();
  li.dataset.threadItem = String(message.id);
  return li;
}

function renderParent(message) {
  parentList.replaceChildren(panelItem(message));
}

function renderReplies() {
  const sorted = [...thread.replies.values()].sort((a, b) => a.id - b.id);
  const waiting = [...thread.pending.values()].map((item) => {
    const li = renderMessage(pendingMessage(item), { pending: true });
    li.removeAttribute("id");
    li.querySelector(".msg__quote")?.remove();
    return li;
  });
  list.replaceChildren(...sorted.map(panelItem), ...waiting);
  olderButton.hidden = !thread.olderUrl;
}

/** A send was refused: the room's list shows why; the thread panel drops its echo. */
export function onPendingFailed(clientId) {
  if (thread.pending.delete(clientId)) renderReplies();
}

/** A send not yet acknowledged: a reply of the open thread shows there as "Sending…". */
export function onPendingSend(item) {
  if (!thread.parentId || item.reply_to !== thread.parentId) return;
  thread.pending.set(item.client_id, item);
  renderReplies();
  body.scrollTop = body.scrollHeight;
}

function updateComposer() {
  const allowed = canPost();
  input.disabled = !allowed;
  sendButton.disabled = !allowed;
  input.placeholder = allowed ? t("Reply…") : t("You cannot post in this room.");
}

function setUnread(parentId, count) {
  if (count > 0) state.threadUnread.set(parentId, count);
  else state.threadUnread.delete(parentId);
  const parent = state.messages.get(parentId);
  if (parent) upsertMessage(parent);
}

function scheduleThreadRead() {
  clearTimeout(thread.readTimer);
  thread.readTimer = setTimeout(markThreadRead, READ_DELAY_MS);
}

async function markThreadRead() {
  const parentId = thread.parentId;
  if (!parentId || panel.hidden) return;
  let newest = 0;
  for (const id of thread.replies.keys()) if (id > newest) newest = id;
  if (!newest || newest <= thread.lastRead) return;
  thread.lastRead = newest;
  try {
    const answer = await rest.markThreadRead(parentId, newest);
    if (thread.parentId === parentId) setUnread(parentId, answer.unread_count);
  } catch (error) {
    report(error);
  }
}

export async function openThread(parentId) {
  toggleParticipants(false);
  thread.parentId = parentId;
  thread.replies.clear();
  thread.olderUrl = null;
  thread.lastRead = 0;
  parentList.replaceChildren();
  list.replaceChildren();
  panel.hidden = false;
  el.layout.classList.add("layout--thread-open");
  updateComposer();
  try {
    const page = await rest.getThread(parentId);
    if (thread.parentId !== parentId) return;
    renderParent(page.parent);
    for (const reply of page.results) thread.replies.set(reply.id, reply);
    thread.olderUrl = page.older ? sameOriginPath(page.older) : null;
    thread.lastRead = page.last_read_id || 0;
    renderReplies();
    body.scrollTop = body.scrollHeight;
    scheduleThreadRead();
  } catch (error) {
    report(error);
  }
  if (!input.disabled) input.focus({ preventScroll: true });
}

/** Close the thread panel; true if it was open. */
export function closeThread() {
  if (panel.hidden) return false;
  clearTimeout(thread.readTimer);
  thread.parentId = null;
  thread.replies.clear();
  thread.pending.clear();
  panel.hidden = true;
  el.layout.classList.remove("layout--thread-open");
  return true;
}

async function loadOlderReplies() {
  if (!thread.olderUrl) return;
  const parentId = thread.parentId;
  try {
    const page = await rest.followPage(thread.olderUrl);
    if (thread.parentId !== parentId) return;
    for (const reply of page.results) thread.replies.set(reply.id, reply);
    thread.olderUrl = page.older ? sameOriginPath(page.older) : null;
    renderReplies();
  } catch (error) {
    report(error);
  }
}

/** The viewer's unread replies per thread of the room that just opened. */
export async function loadUnreadThreads(roomId, token) {
  state.threadUnread.clear();
  state.threadFollowed.clear();
  const states = await rest.listUnreadThreads(roomId);
  if (token !== state.openToken) return;
  for (const item of states) {
    state.threadFollowed.add(item.message_id);
    setUnread(item.message_id, item.unread_count);
  }
}

/** Whether the viewer follows the thread of ``parentId``, as far as the page knows: they
 * wrote its first message, replied in it or read it (as the server counts unread replies). */
function follows(parentId) {
  if (state.threadFollowed.has(parentId) || state.threadUnread.has(parentId)) return true;
  const parent = state.messages.get(parentId);
  if (parent && parent.sender.id === me.id) return true;
  for (const message of state.messages.values()) {
    if (message.reply_to === parentId && message.sender.id === me.id) return true;
  }
  return false;
}

/** A message of the room was created, edited or deleted: the open thread, and unread replies. */
export function onRoomMessage(frame) {
  const message = frame.message;
  if (!message || !message.reply_to) {
    if (message && message.id === thread.parentId) renderParent(message);
    return;
  }
  if (message.reply_to === thread.parentId) {
    thread.replies.set(message.id, message);
    if (message.client_id) thread.pending.delete(message.client_id);
    const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 64;
    renderReplies();
    if (atBottom || message.sender.id === me.id) body.scrollTop = body.scrollHeight;
    if (frame.type === "message.created") scheduleThreadRead();
    return;
  }
  if (frame.type !== "message.created") return;
  if (message.sender.id === me.id) {
    state.threadFollowed.add(message.reply_to); // one follows a thread one replied in
    return;
  }
  if (follows(message.reply_to)) {
    setUnread(message.reply_to, (state.threadUnread.get(message.reply_to) || 0) + 1);
  }
}

/** `thread.read`: the viewer read a thread, here or in another tab or device. */
export function onThreadRead(frame) {
  state.threadFollowed.add(frame.message_id);
  setUnread(frame.message_id, frame.unread_count);
  if (frame.message_id === thread.parentId && frame.last_read_id > thread.lastRead) {
    thread.lastRead = frame.last_read_id;
  }
}

/** `thread.updated`: the parent's new reply count and last reply time. */
export function onThreadUpdated(frame) {
  const parent = state.messages.get(frame.message_id);
  if (parent) {
    const updated = { ...parent, reply_count: frame.reply_count, last_reply_at: frame.last_reply_at };
    state.messages.set(parent.id, updated);
    upsertMessage(updated);
    if (parent.id === thread.parentId) renderParent(updated);
  }
}

function submitReply(event) {
  event.preventDefault();
  const text = input.value.trim();
  if (!text || !thread.parentId || !state.chat || !canPost()) return;
  if (text.length > config.maxMessageLength) {
    toast(fmt(t("Messages are limited to %(count)s characters."), { count: config.maxMessageLength }));
    return;
  }
  state.chat.send(text, { replyTo: thread.parentId });
  input.value = "";
}

export function bindThreads() {
  el.messageList.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action=\"thread\"]");
    if (button) openThread(Number(button.dataset.messageId)).catch(report);
  });
  $("thread-close").addEventListener("click", closeThread);
  olderButton.addEventListener("click", loadOlderReplies);
  form.addEventListener("submit", submitReply);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeThread();
      el.input.focus();
    }
  });
  panel.addEventListener("focusin", updateComposer);
}
