/**
 * Messages of the open room: rendering, the list kept in id order with local
 * echoes below, reactions, replies' quotes, editing and deleting, history pages.
 */
import { ApiError, messageActions, rest, sameOriginPath } from "./client.js";
import {
  avatar, displayName, el, formatSize, formatTime, icon, isNearBottom, node, report,
  scrollToBottom, setSanitisedHtml, snippet, toast,
} from "./dom.js";
import { isPinned, togglePin } from "./pins.js";
import { pollFor } from "./polls.js";
import { openReportDialog } from "./moderation.js";
import { startReply } from "./reply.js";
import { scheduleRead } from "./roomlist.js";
import {
  canDelete, canEdit, canEndorse, canManageRoom, canMarkQuestion, canPost, config, isMine, me, state,
} from "./state.js";
import { forgetTyper } from "./typing.js";
import { t, tn, fmt, language } from "./i18n.js";

const QUICK_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "🙏"];

const GROUP_WINDOW_MS = 5 * 60 * 1000;

function messageElementId(message) {
  return `message-${message.id}`;
}

function findMessageElement(id) {
  return document.getElementById(`message-${id}`);
}

function findPendingElement(clientId) {
  return el.messageList.querySelector(`li[data-client-id="${CSS.escape(clientId)}"][data-pending]`);
}

function quoteFor(message) {
  if (!message.reply_to) return null;
  const parent = state.messages.get(message.reply_to);
  const quote = node("blockquote", { className: "msg__quote" });
  if (!parent) {
    quote.append(node("span", { className: "muted", text: t("Reply to an earlier message") }));
  } else if (parent.is_deleted) {
    quote.append(node("span", { className: "muted", text: t("Reply to a deleted message") }));
  } else {
    quote.append(
      node("strong", { text: displayName(parent.sender) }),
      node("span", { text: snippet(parent) }),
    );
    quote.tabIndex = 0;
    quote.setAttribute("role", "link");
    quote.setAttribute("aria-label", fmt(t("Go to the message from %(name)s"), { name: displayName(parent.sender) }));
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

/** Under a question: its endorsed answer, when it has one. */
function endorsedAnswerFor(message) {
  if (!message.is_question || !message.endorsed_answer_id) return null;
  const answer = state.messages.get(message.endorsed_answer_id);
  const box = node("div", { className: "msg__endorsed" }, [
    node("span", { className: "msg__endorsed-label", text: t("✓ Endorsed answer") }),
  ]);
  if (answer && !answer.is_deleted) {
    box.append(node("strong", { text: displayName(answer.sender) }), node("span", { text: snippet(answer) }));
  } else {
    box.append(node("span", { className: "muted", text: t("an earlier message") }));
  }
  return box;
}

function attachmentFor(message) {
  const file = message.file;
  if (!file) return null;
  const url = sameOriginPath(file.url);
  if (!url) return null;
  if (message.message_type === "image" && file.thumbnail_url) {
    const thumb = sameOriginPath(file.thumbnail_url);
    const link = node("a", { className: "msg__image", attrs: { href: url, target: "_blank", rel: "noopener" } });
    link.setAttribute("aria-label", fmt(t("Open image %(name)s full size"), { name: file.name }));
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
  preview.setAttribute("aria-label", fmt(t("First lines of %(name)s"), { name: file.name }));
  return node("div", { className: "msg__file-block" }, [box, preview]);
}

function reactionsFor(message) {
  if (!message.reactions || !message.reactions.length || message.is_deleted) return null;
  const box = node("div", { className: "msg__reactions", attrs: { role: "group", "aria-label": t("Reactions") } });
  for (const reaction of message.reactions) {
    const mine = reaction.user_ids.includes(me.id);
    const chip = node("button", {
      className: `chip${mine ? " chip--mine" : ""}`,
      attrs: {
        type: "button",
        "aria-pressed": mine ? "true" : "false",
        "aria-label": fmt(mine ? t("%(emoji)s %(count)s, remove your reaction") : t("%(emoji)s %(count)s, react"), { emoji: reaction.emoji, count: reaction.count }),
      },
    }, [node("span", { text: reaction.emoji }), node("span", { className: "chip__count", text: String(reaction.count) })]);
    chip.dataset.emoji = reaction.emoji;
    chip.addEventListener("click", () => toggleReaction(message, reaction.emoji));
    box.append(chip);
  }
  return box;
}

function ago(iso) {
  const minutes = Math.floor((Date.now() - new Date(iso).getTime()) / 60000);
  if (minutes < 1) return t("just now");
  if (minutes < 60) return fmt(t("%(minutes)s min ago"), { minutes });
  if (minutes < 24 * 60) return fmt(t("%(hours)s h ago"), { hours: Math.floor(minutes / 60) });
  return new Date(iso).toLocaleDateString(language);
}

/** "N replies · last reply 5 min ago" under a message with a thread; opens it (threads.js). */
function threadLinkFor(message) {
  if (!message.reply_count || !message.id) return null;
  const count = message.reply_count;
  let text = fmt(tn("%(count)s reply", "%(count)s replies", count), { count });
  if (message.last_reply_at) text += ` · ${fmt(t("last reply %(when)s"), { when: ago(message.last_reply_at) })}`;
  const link = node("button", { className: "link-btn msg__thread", attrs: { type: "button" } }, [node("span", { text })]);
  const unread = state.threadUnread.get(message.id) || 0;
  if (unread) link.append(node("span", { className: "msg__thread-new", text: fmt(t("%(count)s new"), { count: unread }) }));
  link.dataset.action = "thread";
  link.dataset.messageId = String(message.id);
  return link;
}

/** Every minute: "last reply 5 min ago" stays true while the page stays open. */
const THREAD_LINK_REFRESH_MS = 60_000;

function refreshThreadLinks() {
  for (const link of el.messageList.querySelectorAll(".msg__thread[data-message-id]")) {
    const message = state.messages.get(Number(link.dataset.messageId));
    const fresh = message && threadLinkFor(message);
    if (fresh) link.replaceWith(fresh);
  }
}

/** The sender's name; on an anonymous post, who wrote it for those who may know. */
export function authorLabel(message) {
  if (!message.is_anonymous) return displayName(message.sender);
  if (isMine(message)) return fmt(t("%(name)s (you)"), { name: displayName(message.sender) });
  const author = message.anonymous_author;
  return author ? `${displayName(message.sender)} · ${displayName(author)}` : displayName(message.sender);
}

function actionsFor(message) {
  if (message.is_deleted || message.message_type === "system" || !message.id) return null;
  const bar = node("div", { className: "msg__actions", attrs: { role: "toolbar", "aria-label": t("Message actions") } });
  if (canPost()) {
    // Reacting to one's own anonymous post would name its author: the server refuses it.
    const reactions = message.is_anonymous && isMine(message) ? [] : QUICK_EMOJI.slice(0, 4);
    for (const emoji of reactions) {
      const button = node("button", { className: "icon-btn icon-btn--small", text: emoji, attrs: { type: "button", "aria-label": fmt(t("React with %(emoji)s"), { emoji }) } });
      button.dataset.action = "react";
      button.dataset.emoji = emoji;
      button.addEventListener("click", () => toggleReaction(message, emoji));
      bar.append(button);
    }
    const reply = node("button", { className: "icon-btn icon-btn--small", attrs: { type: "button", "aria-label": t("Reply"), title: t("Reply") } }, [icon("reply")]);
    reply.dataset.action = "reply";
    reply.addEventListener("click", () => startReply(message));
    bar.append(reply);
  }
  if (canMarkQuestion(message)) {
    const label = message.is_question ? t("Not a question") : t("Mark as question");
    const mark = node("button", { className: "btn btn--ghost btn--small", text: message.is_question ? t("Unmark") : t("Question"), attrs: { type: "button", "aria-label": label, title: label } });
    mark.dataset.action = "question";
    mark.addEventListener("click", () => markQuestion(message, !message.is_question));
    bar.append(mark);
  }
  if (canEndorse(message)) {
    const label = message.is_endorsed ? t("Withdraw endorsement") : t("Endorse answer");
    const endorse = node("button", { className: "btn btn--ghost btn--small", text: message.is_endorsed ? t("Withdraw") : t("Endorse"), attrs: { type: "button", "aria-label": label, title: label } });
    endorse.dataset.action = "endorse";
    endorse.addEventListener("click", () => endorseAnswer(message, !message.is_endorsed));
    bar.append(endorse);
  }
  if (canManageRoom() && state.room.is_active) {
    const pinned = isPinned(message.id);
    const label = pinned ? t("Unpin message") : t("Pin message");
    const pin = node("button", { className: "icon-btn icon-btn--small", text: "📌", attrs: { type: "button", "aria-label": label, title: label, "aria-pressed": pinned ? "true" : "false" } });
    pin.dataset.action = "pin";
    pin.addEventListener("click", () => togglePin(message).then(() => redrawMessage(message.id)));
    bar.append(pin);
  }
  if (!message.reply_to) {
    const open = node("button", { className: "icon-btn icon-btn--small", attrs: { type: "button", "aria-label": t("Open thread"), title: t("Open thread") } }, [icon("thread")]);
    open.dataset.action = "thread";
    open.dataset.messageId = String(message.id);
    bar.append(open);
  }
  if (canEdit(message)) {
    const edit = node("button", { className: "icon-btn icon-btn--small", attrs: { type: "button", "aria-label": t("Edit message"), title: t("Edit") } }, [icon("edit")]);
    edit.dataset.action = "edit";
    edit.addEventListener("click", () => startEdit(message));
    bar.append(edit);
  }
  if (message.sender.id !== me.id) {
    const flag = node("button", { className: "icon-btn icon-btn--small", attrs: { type: "button", "aria-label": t("Report message"), title: t("Report") } }, [icon("flag")]);
    flag.dataset.action = "report";
    flag.addEventListener("click", () => openReportDialog(message));
    bar.append(flag);
  }
  if (canDelete(message)) {
    const del = node("button", { className: "icon-btn icon-btn--small icon-btn--danger", attrs: { type: "button", "aria-label": t("Delete message"), title: t("Delete") } }, [icon("trash")]);
    del.dataset.action = "delete";
    del.addEventListener("click", () => deleteMessage(message));
    bar.append(del);
  }
  return bar.childElementCount ? bar : null;
}

export function renderMessage(message, { pending = false, failed = null } = {}) {
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
  // Anonymous posts are never grouped: a shared header would hint at a shared author.
  li.dataset.senderId = message.is_anonymous ? `anonymous-${message.id || message.client_id}` : String(message.sender.id);
  li.dataset.createdAt = message.created_at;
  if (isMine(message)) li.classList.add("msg--mine");
  if (message.is_anonymous) li.classList.add("msg--anonymous");
  if (message.mentions && message.mentions.includes(me.id)) li.classList.add("msg--mention");
  if (pending) {
    li.dataset.pending = "true";
    li.classList.add("msg--pending");
  }
  if (message.is_deleted) li.classList.add("msg--deleted");
  if (message.id && message.id === state.foundId) li.classList.add("msg--found");

  const head = node("div", { className: "msg__head" }, [
    node("span", { className: "msg__author", text: authorLabel(message) }),
    node("time", { text: formatTime(message.created_at), attrs: { datetime: message.created_at, title: new Date(message.created_at).toLocaleString(language) } }),
  ]);
  if (message.is_edited && !message.is_deleted) head.append(node("span", { className: "msg__edited", text: t("(edited)") }));
  if (message.is_question && !message.is_deleted) {
    const answered = Boolean(message.endorsed_answer_id);
    head.append(node("span", { className: `badge badge--${answered ? "answered" : "question"}`, text: answered ? t("Answered") : t("Question") }));
  }
  if (message.is_endorsed && !message.is_deleted) head.append(node("span", { className: "badge badge--endorsed", text: t("Endorsed answer") }));
  if (pending && !failed) head.append(node("span", { className: "msg__status", text: t("Sending…") }));

  const body = node("div", { className: "msg__body" }, [head]);
  if (message.is_deleted) {
    body.append(node("p", { className: "msg__content msg__content--deleted", text: t("This message was deleted.") }));
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
    const endorsed = endorsedAnswerFor(message);
    if (endorsed) body.append(endorsed);
    const poll = pollFor(message, (fresh) => updatePoll({ ...fresh, my_votes: null }));
    if (poll) body.append(poll);
    const reactions = reactionsFor(message);
    if (reactions) body.append(reactions);
  }
  const threadLink = threadLinkFor(message);
  if (threadLink) body.append(threadLink);
  if (failed) {
    const row = node("div", { className: "msg__failed", attrs: { role: "alert" } }, [
      node("span", { text: fmt(t("Not sent: %(reason)s"), { reason: failed }) }),
    ]);
    const dismiss = node("button", { className: "link-btn", text: t("Dismiss"), attrs: { type: "button" } });
    dismiss.addEventListener("click", () => li.remove());
    row.append(dismiss);
    body.append(row);
  }
  li.append(avatar(message.sender), body);
  const actions = pending ? null : actionsFor(message);
  if (actions) li.append(actions);
  return li;
}

export function applyGrouping(li) {
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

// --- keeping the list ---------------------------------------------------------------------

/** Insert or replace a confirmed message, kept in id order, before local echoes. */
export function upsertMessage(message) {
  const known = state.messages.get(message.id);
  if (known && new Date(known.updated_at) > new Date(message.updated_at)) return;
  if (message.is_anonymous && !message.anonymous_author) {
    // Room frames never name the author; the staff learn it from `anonymous.author`.
    const author = known?.anonymous_author || state.anonymousAuthors.get(message.id);
    if (author) message = { ...message, anonymous_author: author };
  }
  state.messages.set(message.id, message);
  const stickToBottom = isNearBottom();
  const existing = findMessageElement(message.id);
  // A message being edited keeps its edit box and what was typed there (a reaction
  // or a reply changes it meanwhile); closing the box draws it as it is by then.
  if (existing?.querySelector(".msg__edit") && !message.is_deleted) return;
  const li = renderMessage(message);
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
  if (message.reply_to && state.messages.get(message.reply_to)?.endorsed_answer_id === message.id) {
    rerender(message.reply_to);
  }
}

/** Draw a listed message again, unless its edit box is open: what was typed there
 * stays, and closing the box draws the message as it is by then. */
function redraw(existing, message) {
  if (existing.querySelector(".msg__edit")) return;
  const li = renderMessage(message);
  existing.replaceWith(li);
  applyGrouping(li);
}

function rerender(id) {
  const message = state.messages.get(id);
  const existing = findMessageElement(id);
  if (message && existing) redraw(existing, message);
}

/** A newer POLL of a message in the list (a `poll.updated` event, a vote's answer). */
export function updatePoll(poll) {
  const message = state.messages.get(poll.id);
  if (message) upsertMessage({ ...message, poll });
}

/** Draw one message again (its pin changed). */
export function redrawMessage(messageId) {
  const message = state.messages.get(messageId);
  if (message) upsertMessage(message);
}

function refreshRepliesTo(parentId) {
  for (const child of state.messages.values()) {
    if (child.reply_to === parentId) {
      const existing = findMessageElement(child.id);
      if (existing) redraw(existing, child);
    }
  }
}

function onNewMessageShown(message, stickToBottom) {
  if (isMine(message) || stickToBottom) {
    scrollToBottom();
  } else {
    el.newPill.hidden = false;
  }
  if (!isMine(message) && !message.is_anonymous) {
    forgetTyper(message.sender.id);
    scheduleRead();
  }
}

/** The MESSAGE a send not yet acknowledged stands for (drawn as "Sending…"). */
export function pendingMessage(item) {
  return {
    id: null,
    client_id: item.client_id,
    sender: me,
    message_type: "text",
    content: item.content,
    is_anonymous: Boolean(item.anonymous),
    anonymous_author: item.anonymous ? me : null,
    content_html: "",
    mentions: [],
    reply_to: item.reply_to,
    file: null,
    reactions: [],
    is_edited: false,
    is_deleted: false,
    is_question: Boolean(item.is_question),
    endorsed_answer_id: null,
    is_endorsed: false,
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
  };
}

export function showPending(item) {
  const message = pendingMessage(item);
  const li = renderMessage(message, { pending: true });
  el.messageList.append(li);
  applyGrouping(li);
  scrollToBottom();
}

export function failPending(clientId, detail) {
  const echo = findPendingElement(clientId);
  if (!echo) return;
  const message = {
    id: null, client_id: clientId, sender: me, message_type: "text",
    content: echo.querySelector(".msg__content")?.textContent || "", content_html: "",
    mentions: [], reply_to: null, file: null, reactions: [], is_edited: false, is_deleted: false,
    is_question: false, endorsed_answer_id: null, is_endorsed: false,
    created_at: echo.dataset.createdAt, updated_at: echo.dataset.createdAt,
  };
  const li = renderMessage(message, { pending: true, failed: detail });
  li.classList.add("msg--failed");
  echo.replaceWith(li);
}

export function applyReaction(frame, added) {
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
  if (existing) redraw(existing, updated);
}

export function rerenderAllMessages() {
  for (const message of state.messages.values()) {
    const existing = findMessageElement(message.id);
    if (existing) redraw(existing, message);
  }
}

/** Room and membership events carry the system message that records them ("Ada joined the room."). */
export function showSystemMessage(frame) {
  if (frame.message && frame.message.id && frame.message.message_type === "system") upsertMessage(frame.message);
}

// --- the viewer's actions -----------------------------------------------------------------

async function toggleReaction(message, emoji) {
  const current = state.messages.get(message.id) || message;
  const mine = current.reactions.some((reaction) => reaction.emoji === emoji && reaction.user_ids.includes(me.id));
  try {
    if (mine) await messageActions.unreact(state.chat, message.id, emoji);
    else await messageActions.react(state.chat, message.id, emoji);
  } catch (error) {
    report(error);
  }
}

async function markQuestion(message, isQuestion) {
  try {
    const sent = await messageActions.markQuestion(state.chat, message.id, isQuestion);
    if (sent.via === "rest") upsertMessage(sent.result);
  } catch (error) {
    report(error);
  }
}

async function endorseAnswer(message, endorse) {
  try {
    const sent = endorse
      ? await messageActions.endorse(state.chat, message.id)
      : await messageActions.withdrawEndorsement(state.chat, message.id);
    // Over REST only the answer comes back: the question is read again too.
    if (sent.via === "rest") {
      const answer = endorse ? sent.result : { ...message, is_endorsed: false, updated_at: new Date().toISOString() };
      upsertMessage(answer);
      upsertMessage(await rest.getMessage(message.reply_to));
    }
  } catch (error) {
    report(error);
  }
}

function startEdit(message) {
  const li = findMessageElement(message.id);
  if (!li) return;
  const content = li.querySelector(".msg__content");
  const form = node("form", { className: "msg__edit" });
  const area = node("textarea", { className: "input", attrs: { "aria-label": t("Edited message text"), rows: "2" } });
  area.value = message.content;
  const save = node("button", { className: "btn btn--primary btn--small", text: t("Save"), attrs: { type: "submit" } });
  const cancel = node("button", { className: "btn btn--ghost btn--small", text: t("Cancel"), attrs: { type: "button" } });
  form.append(area, node("div", { className: "msg__edit-actions" }, [
    node("span", { className: "muted", text: t("Enter to save · Esc to cancel") }), cancel, save,
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
      el.input.focus();
      return;
    }
    if (text.length > config.maxMessageLength) {
      toast(fmt(t("Messages are limited to %(count)s characters."), { count: config.maxMessageLength }));
      return;
    }
    try {
      const sent = await messageActions.edit(state.chat, message.id, text);
      if (sent.via === "rest") upsertMessage(sent.result);
      restore();
      el.input.focus(); // the edit box is gone: the keyboard goes back to the composer
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
  const focused = findMessageElement(message.id)?.contains(document.activeElement);
  try {
    const sent = await messageActions.delete(state.chat, message.id);
    if (sent.via === "rest") {
      upsertMessage({ ...message, is_deleted: true, content: "", content_html: "", file: null, updated_at: new Date().toISOString() });
    }
    // Its Delete button goes with the message's actions: the keyboard goes back to the composer.
    if (focused) el.input.focus();
  } catch (error) {
    report(error);
  }
}

export function editLastOwnMessage() {
  const mine = [...state.messages.values()].filter(canEdit).sort((a, b) => b.id - a.id);
  if (mine.length) startEdit(mine[0]);
}

// --- history -------------------------------------------------------------------------------

/** The history to show: around a message, or (also when that message is not in the room) the newest. */
async function historyPage(roomId, around) {
  if (!around) return rest.listMessages(roomId);
  try {
    return await rest.listMessagesAround(roomId, around);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    report(error); // "No such message in this room."
    return rest.listMessages(roomId);
  }
}

export async function loadHistory(roomId, token, { around = null } = {}) {
  const data = await historyPage(roomId, around);
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
  state.newerUrl = data.newer ? sameOriginPath(data.newer) : null;
  const found = around ? findMessageElement(around) : null;
  if (found) found.scrollIntoView({ block: "center" });
  else scrollToBottom();
  scheduleRead();
}

/** The next page towards the newest, below what is shown (after opening at a search hit). */
export async function loadNewer() {
  if (!state.newerUrl || state.loadingNewer || !state.room) return;
  state.loadingNewer = true;
  const token = state.openToken;
  try {
    const data = await rest.followPage(state.newerUrl);
    if (token !== state.openToken) return;
    const fresh = data.results.filter((message) => !state.messages.has(message.id));
    for (const message of fresh) state.messages.set(message.id, message);
    let before = null;
    const last = fresh.length ? fresh[fresh.length - 1].id : 0;
    for (const item of el.messageList.children) {
      if (item.dataset.pending || Number(item.dataset.id) > last) {
        before = item;
        break;
      }
    }
    const items = fresh.map((message) => renderMessage(message));
    for (const item of items) el.messageList.insertBefore(item, before);
    items.forEach(applyGrouping);
    applyGrouping(before);
    state.newerUrl = data.newer ? sameOriginPath(data.newer) : null;
    for (const message of fresh) refreshRepliesTo(message.id);
  } catch (error) {
    report(error);
  } finally {
    state.loadingNewer = false;
  }
}

export async function loadOlder() {
  if (!state.olderUrl || state.loadingOlder || !state.room) return;
  state.loadingOlder = true;
  const token = state.openToken;
  el.messages.setAttribute("aria-busy", "true");
  try {
    const data = await rest.followPage(state.olderUrl);
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

export function bindMessages() {
  setInterval(refreshThreadLinks, THREAD_LINK_REFRESH_MS);
  el.messages.addEventListener("scroll", () => {
    if (el.messages.scrollTop < 120) loadOlder();
    if (isNearBottom()) {
      loadNewer();
      el.newPill.hidden = true;
      scheduleRead();
    }
  }, { passive: true });
  el.newPill.addEventListener("click", scrollToBottom);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") scheduleRead();
  });
  el.lightbox.addEventListener("click", (event) => {
    if (event.target === el.lightbox) el.lightbox.close();
  });
}
