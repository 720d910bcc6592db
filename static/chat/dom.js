/**
 * DOM helpers: the page's elements, building nodes, avatars, formatting, toasts,
 * the connection banner and scrolling. Every element is built with the DOM API:
 * user content is set with textContent, except `content_html`, which the server
 * has sanitised.
 */
import { ApiError } from "./client.js";
import { config, state } from "./state.js";
import { t, language } from "./i18n.js";

const NEAR_BOTTOM_PX = 96;

export const $ = (id) => document.getElementById(id);

export const el = {
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
  moderation: $("moderation"),
  auditButton: $("audit-button"),
  slowModeSelect: $("slow-mode-select"),
  bansButton: $("bans-button"),
  reportsButton: $("reports-button"),
  reportCount: $("report-count"),
  reportList: $("report-list"),
  reportDialog: $("report-dialog"),
  reportForm: $("report-form"),
  banList: $("ban-list"),
  auditList: $("audit-list"),
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
  questionsButton: $("questions-button"),
  questionsDialog: $("questions-dialog"),
  questionsList: $("questions-list"),
  questionsEmpty: $("questions-empty"),
  questionOption: $("question-option"),
  questionInput: $("question-input"),
  queue: $("queue"),
  queueStatus: $("queue-status"),
  queueJoin: $("queue-join"),
  queueLeave: $("queue-leave"),
  queueNext: $("queue-next"),
  officeHoursToggle: $("office-hours-toggle"),
  queueList: $("queue-list"),
  pins: $("pins"),
  pinList: $("pin-list"),
  pollButton: $("poll-button"),
  pollDialog: $("poll-dialog"),
  pollForm: $("poll-form"),
  pollOptions: $("poll-options"),
  pollError: $("poll-error"),
  anonymousOption: $("anonymous-option"),
  anonymousInput: $("anonymous-input"),
  staffButton: $("staff-questions-button"),
  staffDialog: $("staff-questions-dialog"),
  staffTitle: $("staff-questions-title"),
  staffAskForm: $("staff-ask-form"),
  staffAskInput: $("staff-ask-input"),
  staffList: $("staff-questions-list"),
  staffEmpty: $("staff-questions-empty"),
  lightbox: $("lightbox"),
  lightboxImage: $("lightbox-image"),
  lightboxLink: $("lightbox-link"),
};

export function node(tag, { className, text, attrs } = {}, children = []) {
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
  flag: "M5 21V4M5 4h11l-2 4 2 4H5",
  reply: "M10 8V4L3 11l7 7v-4c5 0 8 1.5 11 5-1-6-4.5-11-11-11z",
  thread: "M4 5h16v10H9l-5 4V5zM8 9h8M8 12h5",
};

/** A stroked line icon from a fixed set of paths (no user input involved). */
export function icon(name) {
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
export function setSanitisedHtml(element, html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  element.replaceChildren(template.content);
}

export function initials(user) {
  const name = (user.display_name || user.username || "?").trim();
  const parts = name.split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : name.slice(0, 2);
  return letters.toUpperCase();
}

export function hue(userId) {
  return (Number(userId) * 47) % 360;
}

export function avatar(user, { withPresence = false } = {}) {
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

export function displayName(user) {
  return user.display_name || user.username;
}

export function formatTime(iso) {
  const date = new Date(iso);
  return date.toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit" });
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** A snippet of a message's text (its file name when it has none), for quotes and the reply bar. */
export function snippet(message) {
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

export function roomPath(roomId) {
  return `${config.pageUrl}rooms/${roomId}/`;
}

export function goToLogin() {
  const next = encodeURIComponent(window.location.pathname);
  window.location.assign(`${config.loginUrl}?next=${next}`);
}

// --- toasts -----------------------------------------------------------------------------

export function toast(message, kind = "error") {
  const item = node("div", { className: `toast toast--${kind}`, text: message });
  el.toasts.append(item);
  setTimeout(() => item.remove(), 5000);
}

/** Show a failed request (or any error) as a toast; an ended session goes to the login page. */
export function report(error) {
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
  toast(error && error.message ? error.message : t("Something went wrong."));
}

// --- scrolling the message log -------------------------------------------------------------

export function isNearBottom() {
  const box = el.messages;
  return box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX;
}

export function scrollToBottom() {
  el.messages.scrollTop = el.messages.scrollHeight;
  el.newPill.hidden = true;
}

// --- the connection banner ------------------------------------------------------------------

function showBanner(text, kind) {
  clearTimeout(state.bannerTimer);
  el.banner.textContent = text;
  el.banner.dataset.kind = kind;
  el.banner.hidden = false;
}

export function hideBanner(delay = 0) {
  clearTimeout(state.bannerTimer);
  state.bannerTimer = setTimeout(() => {
    el.banner.hidden = true;
  }, delay);
}

/** The room socket's "state" event: "Reconnecting…" after 400 ms without it, "Back online" once it returns. */
export function onConnectionState(event) {
  const { state: connection } = event.detail;
  if (connection === "reconnecting") {
    if (!state.showedReconnecting) {
      clearTimeout(state.bannerTimer);
      state.bannerTimer = setTimeout(() => {
        state.showedReconnecting = true;
        showBanner(t("Reconnecting…"), "warn");
      }, 400);
    }
  } else if (connection === "open") {
    clearTimeout(state.bannerTimer);
    if (state.showedReconnecting) {
      state.showedReconnecting = false;
      showBanner(t("Back online"), "ok");
      hideBanner(2500);
    }
  }
}
