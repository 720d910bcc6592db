/**
 * The chat page. Builds every element with the DOM API: user content is set
 * with textContent, except `content_html`, which the server has sanitised.
 *
 * Socket URLs come from the server's settings (the "chat-config" JSON). When the
 * configured host is the built-in default `localhost:8000` and the page is served
 * from another host, the page's own host is used with the configured path
 * (ws: for http pages, wss: for https pages); an https page never opens a ws: URL.
 */
import { ApiError, ChatClient, PresenceClient, api, upload } from "./client.js";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const me = config.user;
const QUICK_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "🙏"];
const GROUP_WINDOW_MS = 5 * 60 * 1000;
const NEAR_BOTTOM_PX = 96;
const MODERATOR_ROLES = new Set(["moderator", "admin"]);
const TYPE_ICONS = { public: "#", private: "🔒", course: "🎓", support: "🛟" };
const TYPE_LABELS = { public: "Public", private: "Private", course: "Course", support: "Support" };
const STATUS_LABELS = { online: "Online", away: "Away", busy: "Busy", offline: "Offline" };

const $ = (id) => document.getElementById(id);
const el = {
  banner: $("connection-banner"),
  layout: $("layout"),
  sidebar: $("sidebar"),
  scrim: $("scrim"),
  roomList: $("room-list"),
  roomListEmpty: $("room-list-empty"),
  roomFilter: $("room-filter"),
  roomTitle: $("room-title"),
  roomMeta: $("room-meta"),
  roomTools: $("room-tools"),
  joinButton: $("join-button"),
  leaveButton: $("leave-button"),
  participantsButton: $("participants-button"),
  participants: $("participants"),
  participantList: $("participant-list"),
  participantCount: $("participant-count"),
  emptyState: $("empty-state"),
  messagesWrap: $("messages-wrap"),
  messages: $("messages"),
  messageList: $("message-list"),
  newPill: $("new-pill"),
  composerWrap: $("composer-wrap"),
  composer: $("composer"),
  input: $("composer-input"),
  count: $("char-count"),
  send: $("send-button"),
  note: $("composer-note"),
  typing: $("typing"),
  replyBar: $("reply-bar"),
  replyName: $("reply-to-name"),
  replySnippet: $("reply-to-snippet"),
  fileInput: $("file-input"),
  upload: $("upload"),
  uploadName: $("upload-name"),
  uploadProgress: $("upload-progress"),
  toasts: $("toasts"),
  statusSelect: $("status-select"),
  newRoomDialog: $("new-room-dialog"),
  newRoomForm: $("new-room-form"),
  newRoomError: $("new-room-error"),
  lightbox: $("lightbox"),
  lightboxImage: $("lightbox-image"),
  lightboxLink: $("lightbox-link"),
};

const state = {
  rooms: new Map(),
  mentions: new Map(),
  presence: new Map(),
  room: null,
  chat: null,
  messages: new Map(),
  participants: new Map(),
  typers: new Map(),
  olderUrl: null,
  loadingOlder: false,
  replyTo: null,
  lastTypingSent: 0,
  readTimer: null,
  lastReadSent: 0,
  bannerTimer: null,
  showedReconnecting: false,
  openToken: 0,
};

// --- small helpers -------------------------------------------------------------------

export function resolveSocketUrl(configured) {
  const url = new URL(configured, window.location.href);
  if (url.host === "localhost:8000" && window.location.host !== "localhost:8000") {
    url.host = window.location.host;
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  }
  if (window.location.protocol === "https:" && url.protocol === "ws:") url.protocol = "wss:";
  return url.toString();
}

function node(tag, { className, text, attrs } = {}, children = []) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = text;
  if (attrs) for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
  for (const child of children) if (child) element.append(child);
  return element;
}

const ICON_PATHS = {
  edit: "M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4",
  trash: "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6",
  reply: "M10 8V4L3 11l7 7v-4c5 0 8 1.5 11 5-1-6-4.5-11-11-11z",
};

/** A stroked line icon from a fixed set of paths (no user input involved). */
function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICON_PATHS[name]);
  svg.append(path);
  return svg;
}

/** Server-sanitised HTML (content_html only) into an element. */
function setSanitisedHtml(element, html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  element.replaceChildren(template.content);
}

function initials(user) {
  const name = (user.display_name || user.username || "?").trim();
  const parts = name.split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : name.slice(0, 2);
  return letters.toUpperCase();
}

function hue(userId) {
  return (Number(userId) * 47) % 360;
}

function avatar(user, { withPresence = false } = {}) {
  const element = node("span", { className: "avatar", text: initials(user), attrs: { "aria-hidden": "true" } });
  element.style.setProperty("--avatar-hue", String(hue(user.id)));
  if (withPresence) {
    const dot = node("span", { className: "presence-dot" });
    dot.dataset.userId = String(user.id);
    dot.dataset.status = state.presence.get(user.id) || "offline";
    element.append(dot);
  }
  return element;
}

function displayName(user) {
  return user.display_name || user.username;
}

function formatTime(iso) {
  const date = new Date(iso);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function sameOriginPath(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.origin === window.location.origin ? parsed.pathname + parsed.search : null;
  } catch {
    return null;
  }
}

function toast(message, kind = "error") {
  const item = node("div", { className: `toast toast--${kind}`, text: message });
  el.toasts.append(item);
  setTimeout(() => item.remove(), 5000);
}

function report(error) {
  if (error instanceof ApiError) {
    if (error.status === 401 || error.status === 403) {
      if (error.code === "not_authenticated") {
        goToLogin();
        return;
      }
    }
    toast(error.message);
    return;
  }
  toast(error && error.message ? error.message : "Something went wrong.");
}

function goToLogin() {
  const next = encodeURIComponent(window.location.pathname);
  window.location.assign(`${config.loginUrl}?next=${next}`);
}

function roomPath(roomId) {
  return `${config.pageUrl}rooms/${roomId}/`;
}

function isNearBottom() {
  const box = el.messages;
  return box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX;
}

function scrollToBottom() {
  el.messages.scrollTop = el.messages.scrollHeight;
  el.newPill.hidden = true;
}

function canModerate(room = state.room) {
  return Boolean(room && MODERATOR_ROLES.has(room.my_role));
}

// --- the connection banner ----------------------------------------------------------

function showBanner(text, kind) {
  clearTimeout(state.bannerTimer);
  el.banner.textContent = text;
  el.banner.dataset.kind = kind;
  el.banner.hidden = false;
}

function hideBanner(delay = 0) {
  clearTimeout(state.bannerTimer);
  state.bannerTimer = setTimeout(() => {
    el.banner.hidden = true;
  }, delay);
}

function onConnectionState(event) {
  const { state: connection } = event.detail;
  if (connection === "reconnecting") {
    if (!state.showedReconnecting) {
      clearTimeout(state.bannerTimer);
      state.bannerTimer = setTimeout(() => {
        state.showedReconnecting = true;
        showBanner("Reconnecting…", "warn");
      }, 400);
    }
  } else if (connection === "open") {
    clearTimeout(state.bannerTimer);
    if (state.showedReconnecting) {
      state.showedReconnecting = false;
      showBanner("Back online", "ok");
      hideBanner(2500);
    }
  }
}

// --- rooms ----------------------------------------------------------------------------

async function loadRooms() {
  let url = "/chat/rooms/";
  const rooms = [];
  for (let page = 0; url && page < 20; page += 1) {
    const data = await api(url);
    const results = Array.isArray(data) ? data : data.results;
    rooms.push(...results);
    url = Array.isArray(data) ? null : data.next && sameOriginPath(data.next);
  }
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
  if (mentions > 0) {
    link.append(node("span", { className: "badge badge--mention", text: "@", attrs: { "aria-hidden": "true" } }));
    labels.push(`${mentions} mention${mentions === 1 ? "" : "s"}`);
  }
  if (unread > 0) {
    link.append(node("span", { className: "badge", text: unread > 99 ? "99+" : String(unread), attrs: { "aria-hidden": "true" } }));
    labels.push(`${unread} unread`);
  }
  link.setAttribute("aria-label", `${room.name}, ${labels.join(", ")}`);
  return node("li", {}, [link]);
}

function renderRoomList() {
  const filter = el.roomFilter.value.trim().toLowerCase();
  const rooms = [...state.rooms.values()].filter(
    (room) => room.is_active !== false || room.my_role || room.id === state.room?.id,
  ).filter((room) => !filter || room.name.toLowerCase().includes(filter));
  const mine = rooms.filter((room) => room.my_role);
  const others = rooms.filter((room) => !room.my_role);
  const items = [];
  if (mine.length) {
    items.push(node("li", { className: "room-list__section", text: "Your rooms", attrs: { role: "presentation" } }));
    items.push(...mine.map(roomListItem));
  }
  if (others.length) {
    items.push(node("li", { className: "room-list__section", text: "Discover", attrs: { role: "presentation" } }));
    items.push(...others.map(roomListItem));
  }
  el.roomList.replaceChildren(...items);
  el.roomListEmpty.hidden = rooms.length > 0;
}

function renderRoomHeader() {
  const room = state.room;
  if (!room) return;
  el.roomTitle.textContent = room.name;
  document.title = `${room.name} · Academia Chat`;
  const bits = [TYPE_LABELS[room.chat_type] || room.chat_type, `${room.participant_count} member${room.participant_count === 1 ? "" : "s"}`];
  if (room.description) bits.push(room.description);
  if (!room.is_active) bits.push("Archived");
  el.roomMeta.textContent = bits.join(" · ");
  el.roomTools.hidden = false;
  el.joinButton.hidden = Boolean(room.my_role) || room.chat_type !== "public" || !room.is_active;
  el.leaveButton.hidden = !room.my_role;
  updateComposerAccess();
}

function updateComposerAccess() {
  const room = state.room;
  const participant = state.participants.get(me.id);
  let reason = "";
  if (!room) reason = "";
  else if (!room.is_active) reason = "This room is archived. Its history stays readable.";
  else if (!room.my_role) reason = room.chat_type === "public" ? "Join this room to post." : "You are not a member of this room.";
  else if (participant && participant.is_muted) reason = "A moderator has muted you in this room.";
  if (state.denied) reason = state.denied;
  el.note.textContent = reason;
  el.note.hidden = !reason;
  const disabled = Boolean(reason) || !room;
  el.input.disabled = disabled;
  el.fileInput.disabled = disabled;
  el.composer.classList.toggle("composer--disabled", disabled);
  updateCounter();
}

// --- messages ---------------------------------------------------------------------------

function messageElementId(message) {
  return `message-${message.id}`;
}

function findMessageElement(id) {
  return document.getElementById(`message-${id}`);
}

function findPendingElement(clientId) {
  return el.messageList.querySelector(`li[data-client-id="${CSS.escape(clientId)}"][data-pending]`);
}

function withinWindow(message, seconds) {
  return Date.now() - new Date(message.created_at).getTime() < seconds * 1000;
}

function canEdit(message) {
  return message.sender.id === me.id && !message.is_deleted && message.message_type === "text"
    && withinWindow(message, config.messageEditTimeout) && state.room?.is_active;
}

function canDelete(message) {
  if (message.is_deleted || message.message_type === "system") return false;
  if (canModerate()) return true;
  return message.sender.id === me.id && withinWindow(message, config.messageDeleteTimeout);
}

function canPost() {
  const participant = state.participants.get(me.id);
  return Boolean(state.room?.my_role && state.room.is_active && !(participant && participant.is_muted) && !state.denied);
}

function quoteFor(message) {
  if (!message.reply_to) return null;
  const parent = state.messages.get(message.reply_to);
  const quote = node("blockquote", { className: "msg__quote" });
  if (!parent) {
    quote.append(node("span", { className: "muted", text: "Reply to an earlier message" }));
  } else if (parent.is_deleted) {
    quote.append(node("span", { className: "muted", text: "Reply to a deleted message" }));
  } else {
    quote.append(
      node("strong", { text: displayName(parent.sender) }),
      node("span", { text: snippet(parent) }),
    );
    quote.tabIndex = 0;
    quote.setAttribute("role", "link");
    quote.setAttribute("aria-label", `Go to the message from ${displayName(parent.sender)}`);
    const jump = () => {
      const target = findMessageElement(parent.id);
      if (target) {
        target.scrollIntoView({ block: "center" });
        target.classList.add("msg--flash");
        setTimeout(() => target.classList.remove("msg--flash"), 1200);
      }
    };
    quote.addEventListener("click", jump);
    quote.addEventListener("keydown", (event) => {
      if (event.key === "Enter") jump();
    });
  }
  return quote;
}

function snippet(message) {
  let text = message.content;
  if (message.content_html) {
    const template = document.createElement("template");
    template.innerHTML = message.content_html;
    text = template.content.textContent.replace(/\s+/g, " ").trim();
  }
  if (text) return text.length > 120 ? `${text.slice(0, 120)}…` : text;
  if (message.file) return message.file.name;
  return "";
}

function attachmentFor(message) {
  const file = message.file;
  if (!file) return null;
  const url = sameOriginPath(file.url);
  if (!url) return null;
  if (message.message_type === "image" && file.thumbnail_url) {
    const thumb = sameOriginPath(file.thumbnail_url);
    const link = node("a", { className: "msg__image", attrs: { href: url, target: "_blank", rel: "noopener" } });
    link.setAttribute("aria-label", `Open image ${file.name} full size`);
    const img = node("img", { attrs: { src: thumb || url, alt: file.name, loading: "lazy", decoding: "async" } });
    if (file.width && file.height) {
      const scale = Math.min(1, 320 / Math.max(file.width, file.height));
      img.width = Math.max(1, Math.round(file.width * scale));
      img.height = Math.max(1, Math.round(file.height * scale));
    }
    link.append(img);
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      el.lightboxImage.src = url;
      el.lightboxImage.alt = file.name;
      el.lightboxLink.href = url;
      el.lightbox.showModal();
    });
    return link;
  }
  const box = node("div", { className: "msg__file" }, [
    node("span", { className: "msg__file-icon", text: "📄", attrs: { "aria-hidden": "true" } }),
    node("div", { className: "msg__file-info" }, [
      node("a", { className: "msg__file-name", text: file.name, attrs: { href: url, download: file.name } }),
      node("span", { className: "msg__file-size", text: `${formatSize(file.size)}${file.content_type ? ` · ${file.content_type}` : ""}` }),
    ]),
  ]);
  if (!file.preview) return box;
  const preview = node("pre", { className: "msg__file-preview", text: file.preview });
  preview.setAttribute("aria-label", `First lines of ${file.name}`);
  return node("div", { className: "msg__file-block" }, [box, preview]);
}

function reactionsFor(message) {
  if (!message.reactions || !message.reactions.length || message.is_deleted) return null;
  const box = node("div", { className: "msg__reactions", attrs: { role: "group", "aria-label": "Reactions" } });
  for (const reaction of message.reactions) {
    const mine = reaction.user_ids.includes(me.id);
    const chip = node("button", {
      className: `chip${mine ? " chip--mine" : ""}`,
      attrs: {
        type: "button",
        "aria-pressed": mine ? "true" : "false",
        "aria-label": `${reaction.emoji} ${reaction.count}, ${mine ? "remove your reaction" : "react"}`,
      },
    }, [node("span", { text: reaction.emoji }), node("span", { className: "chip__count", text: String(reaction.count) })]);
    chip.dataset.emoji = reaction.emoji;
    chip.addEventListener("click", () => toggleReaction(message, reaction.emoji));
    box.append(chip);
  }
  return box;
}

function actionsFor(message) {
  if (message.is_deleted || message.message_type === "system" || !message.id) return null;
  const bar = node("div", { className: "msg__actions", attrs: { role: "toolbar", "aria-label": "Message actions" } });
  if (canPost()) {
    for (const emoji of QUICK_EMOJI.slice(0, 4)) {
      const button = node("button", { className: "icon-btn icon-btn--small", text: emoji, attrs: { type: "button", "aria-label": `React with ${emoji}` } });
      button.dataset.action = "react";
      button.dataset.emoji = emoji;
      button.addEventListener("click", () => toggleReaction(message, emoji));
      bar.append(button);
    }
    const reply = node("button", { className: "icon-btn icon-btn--small", attrs: { type: "button", "aria-label": "Reply", title: "Reply" } }, [icon("reply")]);
    reply.dataset.action = "reply";
    reply.addEventListener("click", () => startReply(message));
    bar.append(reply);
  }
  if (canEdit(message)) {
    const edit = node("button", { className: "icon-btn icon-btn--small", attrs: { type: "button", "aria-label": "Edit message", title: "Edit" } }, [icon("edit")]);
    edit.dataset.action = "edit";
    edit.addEventListener("click", () => startEdit(message));
    bar.append(edit);
  }
  if (canDelete(message)) {
    const del = node("button", { className: "icon-btn icon-btn--small icon-btn--danger", attrs: { type: "button", "aria-label": "Delete message", title: "Delete" } }, [icon("trash")]);
    del.dataset.action = "delete";
    del.addEventListener("click", () => deleteMessage(message));
    bar.append(del);
  }
  return bar.childElementCount ? bar : null;
}

function renderMessage(message, { pending = false, failed = null } = {}) {
  if (message.message_type === "system") {
    const li = node("li", { className: "msg msg--system", attrs: { id: messageElementId(message) } });
    li.dataset.id = String(message.id);
    const text = node("p", { className: "msg__system-text" });
    if (message.content_html) setSanitisedHtml(text, message.content_html);
    else text.textContent = message.content;
    li.append(text, node("time", { text: formatTime(message.created_at), attrs: { datetime: message.created_at } }));
    return li;
  }
  const li = node("li", { className: "msg" });
  if (message.id) {
    li.id = messageElementId(message);
    li.dataset.id = String(message.id);
  }
  if (message.client_id) li.dataset.clientId = message.client_id;
  li.dataset.senderId = String(message.sender.id);
  li.dataset.createdAt = message.created_at;
  if (message.sender.id === me.id) li.classList.add("msg--mine");
  if (message.mentions && message.mentions.includes(me.id)) li.classList.add("msg--mention");
  if (pending) {
    li.dataset.pending = "true";
    li.classList.add("msg--pending");
  }
  if (message.is_deleted) li.classList.add("msg--deleted");

  const head = node("div", { className: "msg__head" }, [
    node("span", { className: "msg__author", text: displayName(message.sender) }),
    node("time", { text: formatTime(message.created_at), attrs: { datetime: message.created_at, title: new Date(message.created_at).toLocaleString() } }),
  ]);
  if (message.is_edited && !message.is_deleted) head.append(node("span", { className: "msg__edited", text: "(edited)" }));
  if (pending && !failed) head.append(node("span", { className: "msg__status", text: "Sending…" }));

  const body = node("div", { className: "msg__body" }, [head]);
  if (message.is_deleted) {
    body.append(node("p", { className: "msg__content msg__content--deleted", text: "This message was deleted." }));
  } else {
    const quote = quoteFor(message);
    if (quote) body.append(quote);
    if (message.content_html || message.content) {
      const content = node("div", { className: "msg__content" });
      if (message.content_html) setSanitisedHtml(content, message.content_html);
      else content.textContent = message.content;
      body.append(content);
    }
    const attachment = attachmentFor(message);
    if (attachment) body.append(attachment);
    const reactions = reactionsFor(message);
    if (reactions) body.append(reactions);
  }
  if (failed) {
    const row = node("div", { className: "msg__failed", attrs: { role: "alert" } }, [
      node("span", { text: `Not sent: ${failed}` }),
    ]);
    const dismiss = node("button", { className: "link-btn", text: "Dismiss", attrs: { type: "button" } });
    dismiss.addEventListener("click", () => li.remove());
    row.append(dismiss);
    body.append(row);
  }
  li.append(avatar(message.sender), body);
  const actions = pending ? null : actionsFor(message);
  if (actions) li.append(actions);
  return li;
}

function applyGrouping(li) {
  if (!li || !li.classList.contains("msg") || li.classList.contains("msg--system")) return;
  const prev = li.previousElementSibling;
  const grouped = Boolean(
    prev && prev.classList.contains("msg") && !prev.classList.contains("msg--system")
      && prev.dataset.senderId === li.dataset.senderId
      && Math.abs(new Date(li.dataset.createdAt) - new Date(prev.dataset.createdAt)) < GROUP_WINDOW_MS,
  );
  li.classList.toggle("msg--grouped", grouped);
}

function regroupAround(li) {
  applyGrouping(li);
  applyGrouping(li?.nextElementSibling);
}

/** Insert or replace a confirmed message, kept in id order, before local echoes. */
function upsertMessage(message) {
  const known = state.messages.get(message.id);
  if (known && new Date(known.updated_at) > new Date(message.updated_at)) return;
  state.messages.set(message.id, message);
  const stickToBottom = isNearBottom();
  const li = renderMessage(message);
  const existing = findMessageElement(message.id);
  if (existing) {
    existing.replaceWith(li);
  } else {
    const echo = message.client_id ? findPendingElement(message.client_id) : null;
    if (echo) echo.remove();
    let before = null;
    for (const item of el.messageList.children) {
      if (item.dataset.pending || Number(item.dataset.id) > message.id) {
        before = item;
        break;
      }
    }
    el.messageList.insertBefore(li, before);
    if (!known) onNewMessageShown(message, stickToBottom);
  }
  regroupAround(li);
  refreshRepliesTo(message.id);
}

function refreshRepliesTo(parentId) {
  for (const child of state.messages.values()) {
    if (child.reply_to === parentId) {
      const existing = findMessageElement(child.id);
      if (existing) {
        const li = renderMessage(child);
        existing.replaceWith(li);
        applyGrouping(li);
      }
    }
  }
}

function onNewMessageShown(message, stickToBottom) {
  if (message.sender.id === me.id || stickToBottom) {
    scrollToBottom();
  } else {
    el.newPill.hidden = false;
  }
  if (message.sender.id !== me.id) {
    state.typers.delete(message.sender.id);
    renderTyping();
    scheduleRead();
  }
}

function showPending(item) {
  const message = {
    id: null,
    client_id: item.client_id,
    sender: me,
    message_type: "text",
    content: item.content,
    content_html: "",
    mentions: [],
    reply_to: item.reply_to,
    file: null,
    reactions: [],
    is_edited: false,
    is_deleted: false,
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
  };
  const li = renderMessage(message, { pending: true });
  el.messageList.append(li);
  applyGrouping(li);
  scrollToBottom();
}

function failPending(clientId, detail) {
  const echo = findPendingElement(clientId);
  if (!echo) return;
  const message = {
    id: null, client_id: clientId, sender: me, message_type: "text",
    content: echo.querySelector(".msg__content")?.textContent || "", content_html: "",
    mentions: [], reply_to: null, file: null, reactions: [], is_edited: false, is_deleted: false,
    created_at: echo.dataset.createdAt, updated_at: echo.dataset.createdAt,
  };
  const li = renderMessage(message, { pending: true, failed: detail });
  li.classList.add("msg--failed");
  echo.replaceWith(li);
}

function applyReaction(frame, added) {
  const message = state.messages.get(frame.message_id);
  if (!message) return;
  const reactions = message.reactions.map((reaction) => ({ ...reaction, user_ids: [...reaction.user_ids] }));
  let entry = reactions.find((reaction) => reaction.emoji === frame.emoji);
  if (added) {
    if (!entry) {
      entry = { emoji: frame.emoji, count: 0, user_ids: [] };
      reactions.push(entry);
    }
    if (!entry.user_ids.includes(frame.user.id)) {
      entry.user_ids.push(frame.user.id);
      entry.count = entry.user_ids.length;
    }
  } else if (entry) {
    entry.user_ids = entry.user_ids.filter((id) => id !== frame.user.id);
    entry.count = entry.user_ids.length;
  }
  const updated = { ...message, reactions: reactions.filter((reaction) => reaction.count > 0) };
  state.messages.set(message.id, updated);
  const existing = findMessageElement(message.id);
  if (existing) {
    const li = renderMessage(updated);
    existing.replaceWith(li);
    applyGrouping(li);
  }
}

async function toggleReaction(message, emoji) {
  const current = state.messages.get(message.id) || message;
  const mine = current.reactions.some((reaction) => reaction.emoji === emoji && reaction.user_ids.includes(me.id));
  try {
    if (state.chat && state.chat.isOpen) {
      if (mine) state.chat.unreact(message.id, emoji);
      else state.chat.react(message.id, emoji);
    } else {
      await api(`/chat/messages/${message.id}/react/`, { method: mine ? "DELETE" : "POST", body: { emoji } });
    }
  } catch (error) {
    report(error);
  }
}

function startReply(message) {
  state.replyTo = message;
  el.replyName.textContent = displayName(message.sender);
  el.replySnippet.textContent = snippet(message);
  el.replyBar.hidden = false;
  el.input.focus();
}

function cancelReply() {
  state.replyTo = null;
  el.replyBar.hidden = true;
}

function startEdit(message) {
  const li = findMessageElement(message.id);
  if (!li) return;
  const content = li.querySelector(".msg__content");
  const form = node("form", { className: "msg__edit" });
  const area = node("textarea", { className: "input", attrs: { "aria-label": "Edited message text", rows: "2" } });
  area.value = message.content;
  const save = node("button", { className: "btn btn--primary btn--small", text: "Save", attrs: { type: "submit" } });
  const cancel = node("button", { className: "btn btn--ghost btn--small", text: "Cancel", attrs: { type: "button" } });
  form.append(area, node("div", { className: "msg__edit-actions" }, [
    node("span", { className: "muted", text: "Enter to save · Esc to cancel" }), cancel, save,
  ]));
  const restore = () => {
    const fresh = renderMessage(state.messages.get(message.id) || message);
    li.replaceWith(fresh);
    applyGrouping(fresh);
  };
  cancel.addEventListener("click", restore);
  area.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      restore();
      el.input.focus();
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = area.value.trim();
    if (!text || text === message.content) {
      restore();
      return;
    }
    if (text.length > config.maxMessageLength) {
      toast(`Messages are limited to ${config.maxMessageLength} characters.`);
      return;
    }
    try {
      if (state.chat && state.chat.isOpen) {
        state.chat.edit(message.id, text);
      } else {
        upsertMessage(await api(`/chat/messages/${message.id}/`, { method: "PATCH", body: { content: text } }));
      }
      restore();
    } catch (error) {
      report(error);
    }
  });
  if (content) content.replaceWith(form);
  else li.querySelector(".msg__body").append(form);
  li.querySelector(".msg__actions")?.remove();
  area.focus();
  area.setSelectionRange(area.value.length, area.value.length);
}

async function deleteMessage(message) {
  try {
    if (state.chat && state.chat.isOpen) {
      state.chat.delete(message.id);
    } else {
      await api(`/chat/messages/${message.id}/`, { method: "DELETE" });
      upsertMessage({ ...message, is_deleted: true, content: "", content_html: "", file: null, updated_at: new Date().toISOString() });
    }
  } catch (error) {
    report(error);
  }
}

// --- history ------------------------------------------------------------------------------

async function loadHistory(roomId, token) {
  const data = await api(`/chat/rooms/${roomId}/messages/`);
  if (token !== state.openToken) return;
  // Local echoes of messages not yet confirmed stay below the reloaded history.
  const echoes = [...el.messageList.querySelectorAll("li[data-pending]")];
  el.messageList.replaceChildren();
  state.messages.clear();
  for (const message of data.results) state.messages.set(message.id, message);
  const confirmed = new Set(data.results.map((message) => message.client_id).filter(Boolean));
  for (const clientId of confirmed) state.chat?.discard(clientId);
  const items = data.results.map((message) => renderMessage(message));
  el.messageList.append(...items, ...echoes.filter((echo) => !confirmed.has(echo.dataset.clientId)));
  items.forEach(applyGrouping);
  echoes.forEach(applyGrouping);
  state.olderUrl = data.older ? sameOriginPath(data.older) : null;
  scrollToBottom();
  scheduleRead();
}

async function loadOlder() {
  if (!state.olderUrl || state.loadingOlder || !state.room) return;
  state.loadingOlder = true;
  const token = state.openToken;
  el.messages.setAttribute("aria-busy", "true");
  try {
    const data = await api(state.olderUrl);
    if (token !== state.openToken) return;
    const box = el.messages;
    const previousHeight = box.scrollHeight;
    const previousTop = box.scrollTop;
    const fresh = data.results.filter((message) => !state.messages.has(message.id));
    for (const message of fresh) state.messages.set(message.id, message);
    const items = fresh.map((message) => renderMessage(message));
    el.messageList.prepend(...items);
    items.forEach(applyGrouping);
    applyGrouping(items.length ? items[items.length - 1].nextElementSibling : null);
    box.scrollTop = previousTop + (box.scrollHeight - previousHeight);
    state.olderUrl = data.older ? sameOriginPath(data.older) : null;
    for (const message of fresh) refreshRepliesTo(message.id);
  } catch (error) {
    report(error);
  } finally {
    state.loadingOlder = false;
    el.messages.removeAttribute("aria-busy");
  }
}

// --- reading -------------------------------------------------------------------------------

function scheduleRead() {
  clearTimeout(state.readTimer);
  state.readTimer = setTimeout(markRead, 400);
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

// --- typing ----------------------------------------------------------------------------------

function onTypingFrame(frame) {
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
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = "Several people are typing…";
  el.typing.textContent = text;
}

function clearTypers() {
  for (const entry of state.typers.values()) clearTimeout(entry.timer);
  state.typers.clear();
  renderTyping();
}

function noteTyping() {
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

// --- participants and presence ----------------------------------------------------------------

async function loadParticipants(roomId, token) {
  const data = await api(`/chat/rooms/${roomId}/participants/`);
  if (token !== state.openToken) return;
  const list = Array.isArray(data) ? data : data.results;
  state.participants = new Map(list.filter((p) => p.is_active !== false).map((p) => [p.user.id, p]));
  renderParticipants();
  updateComposerAccess();
}

function renderParticipants() {
  const people = [...state.participants.values()].sort((a, b) => {
    const rank = (p) => (state.presence.get(p.user.id) || "offline") === "offline" ? 1 : 0;
    return rank(a) - rank(b) || displayName(a.user).localeCompare(displayName(b.user));
  });
  el.participantCount.textContent = String(people.length);
  const items = people.map((participant) => {
    const status = state.presence.get(participant.user.id) || "offline";
    const li = node("li", { className: "person" });
    li.dataset.userId = String(participant.user.id);
    const who = node("div", { className: "person__who" }, [
      node("span", { className: "person__name", text: displayName(participant.user) + (participant.user.id === me.id ? " (you)" : "") }),
      node("span", { className: "person__status", text: STATUS_LABELS[status] || status }),
    ]);
    li.append(avatar(participant.user, { withPresence: true }), who);
    if (participant.role !== "member") li.append(node("span", { className: `role role--${participant.role}`, text: participant.role }));
    if (participant.is_muted) li.append(node("span", { className: "role role--muted", text: "muted" }));
    if (canModerate() && participant.user.id !== me.id && participant.role !== "admin") {
      const actions = node("div", { className: "person__actions" });
      const mute = node("button", {
        className: "btn btn--ghost btn--small",
        text: participant.is_muted ? "Unmute" : "Mute",
        attrs: { type: "button", "aria-label": `${participant.is_muted ? "Unmute" : "Mute"} ${displayName(participant.user)}` },
      });
      mute.addEventListener("click", () => moderate(participant, { is_muted: !participant.is_muted }));
      const remove = node("button", {
        className: "btn btn--ghost btn--small btn--danger",
        text: "Remove",
        attrs: { type: "button", "aria-label": `Remove ${displayName(participant.user)} from the room` },
      });
      remove.addEventListener("click", () => moderate(participant, null));
      actions.append(mute, remove);
      li.append(actions);
    }
    return li;
  });
  el.participantList.replaceChildren(...items);
}

async function moderate(participant, changes) {
  const path = `/chat/rooms/${state.room.id}/participants/${participant.user.id}/`;
  try {
    if (changes === null) {
      await api(path, { method: "DELETE" });
      state.participants.delete(participant.user.id);
      toast(`${displayName(participant.user)} was removed.`, "info");
    } else {
      const updated = await api(path, { method: "PATCH", body: changes });
      if (updated && updated.user) state.participants.set(updated.user.id, updated);
    }
    renderParticipants();
  } catch (error) {
    report(error);
  }
}

function updatePresenceDots(userId) {
  const status = state.presence.get(userId) || "offline";
  for (const dot of document.querySelectorAll(`.presence-dot[data-user-id="${userId}"]`)) dot.dataset.status = status;
}

function onParticipantFrame(frame) {
  const participant = frame.participant;
  if (frame.type === "participant.left" || participant.is_active === false) {
    state.participants.delete(participant.user.id);
    if (participant.user.id === me.id) {
      state.room.my_role = null;
      const listed = state.rooms.get(state.room.id);
      if (listed) listed.my_role = null;
      renderRoomList();
    }
  } else {
    state.participants.set(participant.user.id, participant);
    if (participant.user.id === me.id) {
      state.room.my_role = participant.role;
      const listed = state.rooms.get(state.room.id);
      if (listed) listed.my_role = participant.role;
    }
  }
  state.room.participant_count = state.participants.size;
  renderParticipants();
  renderRoomHeader();
  rerenderAllMessages();
  showSystemMessage(frame);
}

/** Room and membership events carry the system message that records them ("Ada joined the room."). */
function showSystemMessage(frame) {
  if (frame.message && frame.message.id && frame.message.message_type === "system") upsertMessage(frame.message);
}

function rerenderAllMessages() {
  for (const message of state.messages.values()) {
    const existing = findMessageElement(message.id);
    if (existing && !existing.querySelector(".msg__edit")) {
      const li = renderMessage(message);
      existing.replaceWith(li);
      applyGrouping(li);
    }
  }
}

// --- opening a room ----------------------------------------------------------------------------

function closeRoomSocket() {
  if (state.chat) {
    state.chat.close();
    state.chat = null;
  }
}

async function openRoom(roomId, { push = true } = {}) {
  const token = ++state.openToken;
  closeRoomSocket();
  clearTypers();
  cancelReply();
  state.denied = "";
  state.room = null;
  state.messages.clear();
  state.participants.clear();
  state.olderUrl = null;
  state.lastReadSent = 0;
  el.messageList.replaceChildren();
  el.participantList.replaceChildren();
  updateComposerAccess();
  el.emptyState.hidden = true;
  el.messagesWrap.hidden = false;
  el.composerWrap.hidden = false;
  if (push && window.location.pathname !== roomPath(roomId)) {
    window.history.pushState({ roomId }, "", roomPath(roomId));
  }
  closeSidebar();
  let room;
  try {
    room = await api(`/chat/rooms/${roomId}/`);
  } catch (error) {
    if (token !== state.openToken) return;
    if (error instanceof ApiError && error.status === 404) {
      showMissingRoom();
      return;
    }
    report(error);
    return;
  }
  if (token !== state.openToken) return;
  state.room = room;
  state.rooms.set(room.id, { ...state.rooms.get(room.id), ...room });
  state.mentions.delete(room.id);
  renderRoomHeader();
  renderRoomList();
  const chat = new ChatClient({
    url: resolveSocketUrl(config.websocketUrl),
    roomId: room.id,
    lastSeq: room.last_seq,
    heartbeatInterval: config.heartbeatInterval,
  });
  wireChat(chat);
  // Messages sent while the history loads are echoed and queued until the socket opens.
  state.chat = chat;
  try {
    await Promise.all([loadHistory(room.id, token), loadParticipants(room.id, token)]);
  } catch (error) {
    if (token === state.openToken) report(error);
  }
  if (token !== state.openToken) return;
  chat.connect();
  if (!el.input.disabled) el.input.focus({ preventScroll: true });
}

function showMissingRoom() {
  state.room = null;
  el.roomTitle.textContent = "Room not found";
  el.roomMeta.textContent = "";
  el.roomTools.hidden = true;
  el.messagesWrap.hidden = true;
  el.composerWrap.hidden = true;
  el.emptyState.hidden = false;
  el.emptyState.querySelector("h2").textContent = "This room is not available";
  el.emptyState.querySelector("p").textContent = "It does not exist, or you do not have access to it.";
}

function wireChat(chat) {
  const live = (handler) => (event) => {
    if (state.chat === chat) handler(event.detail);
  };
  chat.addEventListener("state", (event) => {
    if (state.chat === chat) onConnectionState(event);
  });
  chat.addEventListener("ready", live((frame) => {
    if (frame.room) {
      state.room = { ...state.room, ...frame.room };
      renderRoomHeader();
    }
    scheduleRead();
  }));
  chat.addEventListener("message.created", live((frame) => upsertMessage(frame.message)));
  chat.addEventListener("message.updated", live((frame) => upsertMessage(frame.message)));
  chat.addEventListener("message.deleted", live((frame) => upsertMessage(frame.message)));
  chat.addEventListener("reaction.added", live((frame) => applyReaction(frame, true)));
  chat.addEventListener("reaction.removed", live((frame) => applyReaction(frame, false)));
  chat.addEventListener("participant.joined", live(onParticipantFrame));
  chat.addEventListener("participant.left", live(onParticipantFrame));
  chat.addEventListener("participant.updated", live(onParticipantFrame));
  chat.addEventListener("room.updated", live((frame) => {
    const room = { ...state.room, ...frame.room, my_role: state.room.my_role, unread_count: 0 };
    state.room = room;
    state.rooms.set(room.id, { ...state.rooms.get(room.id), ...room });
    renderRoomHeader();
    renderRoomList();
    showSystemMessage(frame);
  }));
  chat.addEventListener("typing", live(onTypingFrame));
  chat.addEventListener("send.pending", live(showPending));
  chat.addEventListener("send.failed", live((detail) => failPending(detail.client_id, detail.error.detail)));
  chat.addEventListener("error", live((frame) => {
    if (!frame.ref || !chat.pending.has(frame.ref)) toast(frame.detail || "The server refused that.");
  }));
  chat.addEventListener("resync", live(() => resync(chat)));
  chat.addEventListener("auth.required", live(goToLogin));
  chat.addEventListener("denied", live((detail) => {
    state.denied = detail.code === 4404 ? "This room no longer exists." : "You no longer have access to this room.";
    clearTypers();
    updateComposerAccess();
    rerenderAllMessages();
    hideBanner();
  }));
}

async function resync(chat) {
  const token = state.openToken;
  try {
    const room = await api(`/chat/rooms/${chat.roomId}/`);
    await loadHistory(chat.roomId, token);
    if (token !== state.openToken) return;
    state.room = room;
    renderRoomHeader();
    chat.restart(room.last_seq);
  } catch (error) {
    report(error);
  }
}

// --- composer ---------------------------------------------------------------------------------

function updateCounter() {
  const length = el.input.value.length;
  const max = config.maxMessageLength;
  el.count.textContent = length ? `${length} / ${max}` : "";
  el.count.classList.toggle("composer__count--over", length > max);
  el.count.classList.toggle("composer__count--near", length > max * 0.9 && length <= max);
  el.send.disabled = el.input.disabled || !el.input.value.trim() || length > max;
  el.input.style.height = "auto";
  el.input.style.height = `${Math.min(el.input.scrollHeight, 200)}px`;
}

function submitComposer() {
  const text = el.input.value.trim();
  if (!text || !state.chat || !canPost()) return;
  if (text.length > config.maxMessageLength) {
    toast(`Messages are limited to ${config.maxMessageLength} characters.`);
    return;
  }
  state.chat.send(text, { replyTo: state.replyTo ? state.replyTo.id : null });
  if (state.lastTypingSent) {
    state.chat.typing(false);
    state.lastTypingSent = 0;
  }
  el.input.value = "";
  cancelReply();
  updateCounter();
}

function editLastOwnMessage() {
  const mine = [...state.messages.values()].filter(canEdit).sort((a, b) => b.id - a.id);
  if (mine.length) startEdit(mine[0]);
}

async function uploadSelected(file) {
  if (!file || !state.room) return;
  if (file.size > config.fileUploadLimit) {
    toast(`${file.name} is larger than the ${formatSize(config.fileUploadLimit)} limit.`);
    return;
  }
  const room = state.room;
  const form = new FormData();
  form.append("room", String(room.id));
  form.append("file", file);
  form.append("client_id", crypto.randomUUID());
  const caption = el.input.value.trim();
  if (caption && caption.length <= config.maxMessageLength) form.append("content", caption);
  el.uploadName.textContent = `${file.name} · ${formatSize(file.size)}`;
  el.uploadProgress.value = 0;
  el.upload.hidden = false;
  try {
    const message = await upload("/chat/messages/", form, {
      onProgress: (fraction) => {
        el.uploadProgress.value = Math.round(fraction * 100);
      },
    });
    if (caption) {
      el.input.value = "";
      updateCounter();
    }
    if (state.room && state.room.id === room.id && message && message.id) upsertMessage(message);
  } catch (error) {
    report(error);
  } finally {
    el.upload.hidden = true;
    el.fileInput.value = "";
  }
}

// --- dialogs, sidebar and the presence socket -------------------------------------------------------

function openSidebar() {
  el.layout.classList.add("layout--sidebar-open");
  el.scrim.hidden = false;
  $("sidebar-open").setAttribute("aria-expanded", "true");
  el.roomFilter.focus();
}

function closeSidebar() {
  el.layout.classList.remove("layout--sidebar-open");
  el.scrim.hidden = true;
  $("sidebar-open").setAttribute("aria-expanded", "false");
}

function toggleParticipants(show = el.participants.hidden) {
  el.participants.hidden = !show;
  el.participantsButton.setAttribute("aria-expanded", show ? "true" : "false");
  el.layout.classList.toggle("layout--participants-open", show);
}

async function createRoom(event) {
  event.preventDefault();
  const form = new FormData(el.newRoomForm);
  const body = {
    name: String(form.get("name") || "").trim(),
    description: String(form.get("description") || "").trim(),
    chat_type: String(form.get("chat_type") || "public"),
  };
  if (!body.name) {
    el.newRoomError.textContent = "Give the room a name.";
    el.newRoomError.hidden = false;
    return;
  }
  try {
    const room = await api("/chat/rooms/", { method: "POST", body });
    state.rooms.set(room.id, room);
    el.newRoomDialog.close();
    el.newRoomForm.reset();
    await openRoom(room.id);
  } catch (error) {
    el.newRoomError.textContent = error.message;
    el.newRoomError.hidden = false;
  }
}

/** Show the viewer's new membership of the open room without reopening it (the socket stays). */
function applyMembership(participant) {
  if (participant) state.participants.set(me.id, participant);
  else state.participants.delete(me.id);
  state.room.my_role = participant ? participant.role : null;
  state.room.participant_count = state.participants.size;
  renderRoomList();
  renderParticipants();
  renderRoomHeader();
  rerenderAllMessages();
}

async function joinRoom() {
  const room = state.room;
  const token = state.openToken;
  if (!room) return;
  try {
    const participant = await api(`/chat/rooms/${room.id}/join/`, { method: "POST" });
    await loadRooms();
    if (token !== state.openToken || !state.room) return;
    applyMembership(participant);
    scheduleRead();
    if (!el.input.disabled) el.input.focus();
  } catch (error) {
    report(error);
  }
}

async function leaveRoom() {
  const room = state.room;
  const token = state.openToken;
  if (!room) return;
  try {
    await api(`/chat/rooms/${room.id}/leave/`, { method: "POST" });
    toast(`You left ${room.name}.`, "info");
    await loadRooms();
    if (token !== state.openToken || !state.room) return;
    if (state.rooms.has(room.id)) applyMembership(null);
    else showHome();
  } catch (error) {
    report(error);
  }
}

function showHome() {
  ++state.openToken;
  closeRoomSocket();
  state.room = null;
  el.roomTitle.textContent = "Welcome";
  el.roomMeta.textContent = "";
  el.roomTools.hidden = true;
  el.messagesWrap.hidden = true;
  el.composerWrap.hidden = true;
  el.emptyState.hidden = false;
  if (window.location.pathname !== config.pageUrl) window.history.pushState({}, "", config.pageUrl);
  renderRoomList();
}

function startPresence() {
  const presence = new PresenceClient({
    url: resolveSocketUrl(config.presenceWebsocketUrl),
    heartbeatInterval: config.heartbeatInterval,
  });
  presence.addEventListener("presence.snapshot", (event) => {
    for (const item of event.detail.users) state.presence.set(item.user.id, item.status);
    for (const userId of state.presence.keys()) updatePresenceDots(userId);
    renderParticipants();
  });
  presence.addEventListener("presence", (event) => {
    state.presence.set(event.detail.user.id, event.detail.status);
    updatePresenceDots(event.detail.user.id);
    if (state.participants.has(event.detail.user.id)) renderParticipants();
  });
  presence.addEventListener("unread", (event) => {
    const { room_id: roomId, unread_count: count } = event.detail;
    const room = state.rooms.get(roomId);
    if (!room) {
      loadRooms().catch(report);
      return;
    }
    room.unread_count = roomId === state.room?.id ? 0 : count;
    renderRoomList();
  });
  presence.addEventListener("notification", (event) => {
    const { room_id: roomId, message } = event.detail;
    if (roomId === state.room?.id && document.visibilityState === "visible") return;
    state.mentions.set(roomId, (state.mentions.get(roomId) || 0) + 1);
    const room = state.rooms.get(roomId);
    toast(`${displayName(message.sender)} mentioned you${room ? ` in ${room.name}` : ""}.`, "info");
    renderRoomList();
  });
  presence.addEventListener("auth.required", goToLogin);
  presence.connect();
  el.statusSelect.addEventListener("change", () => presence.setStatus(el.statusSelect.value));
  return presence;
}

function bind() {
  $("me-name").textContent = displayName(me);
  const meAvatar = $("me-avatar");
  meAvatar.textContent = initials(me);
  meAvatar.style.setProperty("--avatar-hue", String(hue(me.id)));

  el.roomList.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-room-id]");
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    openRoom(Number(link.dataset.roomId)).catch(report);
  });
  el.roomFilter.addEventListener("input", renderRoomList);
  window.addEventListener("popstate", () => {
    const match = window.location.pathname.match(/rooms\/(\d+)\/$/);
    if (match) openRoom(Number(match[1]), { push: false }).catch(report);
    else showHome();
  });

  el.input.addEventListener("input", () => {
    updateCounter();
    noteTyping();
  });
  el.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitComposer();
    } else if (event.key === "ArrowUp" && !el.input.value) {
      event.preventDefault();
      editLastOwnMessage();
    } else if (event.key === "Escape" && state.replyTo) {
      cancelReply();
    }
  });
  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submitComposer();
  });
  $("reply-cancel").addEventListener("click", cancelReply);
  el.fileInput.addEventListener("change", () => uploadSelected(el.fileInput.files[0]));

  el.messages.addEventListener("scroll", () => {
    if (el.messages.scrollTop < 120) loadOlder();
    if (isNearBottom()) {
      el.newPill.hidden = true;
      scheduleRead();
    }
  }, { passive: true });
  el.newPill.addEventListener("click", scrollToBottom);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") scheduleRead();
  });

  $("sidebar-open").addEventListener("click", openSidebar);
  $("sidebar-close").addEventListener("click", closeSidebar);
  el.scrim.addEventListener("click", closeSidebar);
  el.participantsButton.addEventListener("click", () => toggleParticipants());
  $("participants-close").addEventListener("click", () => toggleParticipants(false));
  el.joinButton.addEventListener("click", joinRoom);
  el.leaveButton.addEventListener("click", leaveRoom);

  $("new-room-button").addEventListener("click", () => {
    el.newRoomError.hidden = true;
    el.newRoomDialog.showModal();
    $("new-room-name").focus();
  });
  $("new-room-cancel").addEventListener("click", () => el.newRoomDialog.close());
  el.newRoomForm.addEventListener("submit", createRoom);
  el.lightbox.addEventListener("click", (event) => {
    if (event.target === el.lightbox) el.lightbox.close();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (el.layout.classList.contains("layout--sidebar-open")) closeSidebar();
    else if (!el.participants.hidden && el.participants.contains(document.activeElement)) toggleParticipants(false);
  });
}

async function main() {
  bind();
  updateCounter();
  startPresence();
  await loadRooms();
  if (config.roomId) await openRoom(config.roomId, { push: false });
}

main().catch(report);
