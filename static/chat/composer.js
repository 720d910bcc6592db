/**
 * The composer: the character counter, who may post and why not, sending,
 * file uploads with progress and a cancel button, and its keyboard (Enter sends, Shift+Enter breaks
 * the line, ArrowUp edits the viewer's last message, Escape cancels a reply).
 */
import { newClientId, rest } from "./client.js";
import { $, el, formatSize, report, toast } from "./dom.js";
import { editLastOwnMessage, upsertMessage } from "./messages.js";
import { updateQuestionOption } from "./questions.js";
import { cancelReply } from "./reply.js";
import { canCreatePoll, canPost, canPostAnonymously, config, me, slowModeExempt, state } from "./state.js";
import { noteTyping, stopTyping } from "./typing.js";
import { t, fmt } from "./i18n.js";

let slowTimer = null;

function slowModeLeft() {
  return Math.ceil((state.slowUntil - Date.now()) / 1000);
}

/** Slow mode: hold the composer for `seconds` (after the viewer's own message, or the
 * server's `slow_mode` refusal with its `retry_after`), counting down in the note. */
export function startSlowMode(seconds) {
  if (!(seconds > 0)) return;
  state.slowUntil = Math.max(state.slowUntil, Date.now() + seconds * 1000);
  if (slowTimer === null) {
    slowTimer = setInterval(() => {
      if (slowModeLeft() <= 0) stopSlowMode();
      else updateComposerAccess();
    }, 250);
  }
  updateComposerAccess();
}

export function stopSlowMode() {
  if (slowTimer !== null) clearInterval(slowTimer);
  slowTimer = null;
  state.slowUntil = 0;
  updateComposerAccess();
}

/** The viewer's own message arrived: in a slow room, wait before the next one. */
export function noteOwnMessage(message) {
  const room = state.room;
  if (!room || message.sender.id !== me.id || message.message_type === "system") return;
  if (room.slow_mode_seconds > 0 && !slowModeExempt()) {
    const sentAgo = (Date.now() - new Date(message.created_at).getTime()) / 1000;
    startSlowMode(room.slow_mode_seconds - Math.max(0, sentAgo));
  }
}

export function updateComposerAccess() {
  const room = state.room;
  const participant = state.participants.get(me.id);
  let reason = "";
  if (!room) reason = "";
  else if (!room.is_active) reason = t("This room is archived. Its history stays readable.");
  else if (!room.my_role) reason = room.chat_type !== "private" ? t("Join this room to post.") : t("You are not a member of this room.");
  else if (participant && participant.is_muted) reason = t("A moderator has muted you in this room.");
  if (state.denied) reason = state.denied;
  const wait = reason || !room ? 0 : slowModeLeft();
  const note = reason || (wait > 0 ? fmt(t("Slow mode: you can send again in %(seconds)s s."), { seconds: wait }) : "");
  el.note.textContent = note;
  el.note.hidden = !note;
  el.note.classList.toggle("composer-note--slow", !reason && wait > 0);
  const disabled = Boolean(reason) || !room;
  el.send.dataset.slow = wait > 0 ? "true" : "";
  el.input.disabled = disabled;
  el.fileInput.disabled = disabled;
  el.pollButton.hidden = disabled || !canCreatePoll();
  el.composer.classList.toggle("composer--disabled", disabled);
  updateQuestionOption();
  el.anonymousOption.hidden = !canPostAnonymously() || disabled;
  if (el.anonymousOption.hidden) el.anonymousInput.checked = false;
  el.fileInput.disabled = disabled || el.anonymousInput.checked;
  updateCounter();
}

export function updateCounter() {
  const length = el.input.value.length;
  const max = config.maxMessageLength;
  el.count.textContent = length ? `${length} / ${max}` : "";
  el.count.classList.toggle("composer__count--over", length > max);
  el.count.classList.toggle("composer__count--near", length > max * 0.9 && length <= max);
  el.send.disabled = el.input.disabled || !el.input.value.trim() || length > max || el.send.dataset.slow === "true";
  el.input.style.height = "auto";
  el.input.style.height = `${Math.min(el.input.scrollHeight, 200)}px`;
}

function submitComposer() {
  const text = el.input.value.trim();
  if (!text || !state.chat || !canPost() || slowModeLeft() > 0) return;
  if (text.length > config.maxMessageLength) {
    toast(fmt(t("Messages are limited to %(count)s characters."), { count: config.maxMessageLength }));
    return;
  }
  const anonymous = el.anonymousInput.checked && canPostAnonymously();
  const clientId = state.chat.send(text, {
    replyTo: state.replyTo ? state.replyTo.id : null, isQuestion: el.questionInput.checked, anonymous,
  });
  if (anonymous) state.anonymousSent.add(clientId);
  stopTyping();
  el.input.value = "";
  el.questionInput.checked = false;
  el.anonymousInput.checked = false;
  cancelReply();
  updateCounter();
}

let uploading = null; // the AbortController of the upload in progress

/** Upload `files` one after another to the open room; Cancel stops the one going and the rest. */
export async function uploadFiles(files) {
  for (const file of files) {
    if (!(await uploadSelected(file))) break;
  }
}

/** Resolves to false when the viewer cancelled. */
async function uploadSelected(file) {
  if (!file || !state.room || !canPost()) return true;
  if (file.size > config.fileUploadLimit) {
    toast(fmt(t("%(name)s is larger than the %(limit)s limit."), { name: file.name, limit: formatSize(config.fileUploadLimit) }));
    return true;
  }
  const room = state.room;
  const form = new FormData();
  form.append("room", String(room.id));
  form.append("file", file);
  form.append("client_id", newClientId());
  const caption = el.input.value.trim();
  if (caption && caption.length <= config.maxMessageLength) form.append("content", caption);
  el.uploadName.textContent = `${file.name} · ${formatSize(file.size)}`;
  el.uploadProgress.value = 0;
  el.upload.hidden = false;
  const controller = new AbortController();
  uploading = controller;
  try {
    const message = await rest.postFile(form, {
      onProgress: (fraction) => {
        el.uploadProgress.value = Math.round(fraction * 100);
      },
      signal: controller.signal,
    });
    if (caption) {
      el.input.value = "";
      updateCounter();
    }
    if (state.room && state.room.id === room.id && message && message.id) upsertMessage(message);
    return true;
  } catch (error) {
    if (error.code === "cancelled") {
      toast(fmt(t("Upload of %(name)s cancelled."), { name: file.name }), "info");
      return false;
    }
    report(error);
    return true;
  } finally {
    if (uploading === controller) uploading = null;
    el.upload.hidden = true;
    el.fileInput.value = "";
  }
}

// --- polls --------------------------------------------------------------------------------

const POLL_OPTIONS_MIN = 2;
const POLL_OPTIONS_MAX = 10;

function addPollOption(value = "") {
  const count = el.pollOptions.querySelectorAll("input").length;
  if (count >= POLL_OPTIONS_MAX) return;
  const input = document.createElement("input");
  input.className = "input";
  input.maxLength = 200;
  input.value = value;
  input.setAttribute("aria-label", fmt(t("Option %(number)s"), { number: count + 1 }));
  el.pollOptions.append(input);
  $("poll-add-option").hidden = count + 1 >= POLL_OPTIONS_MAX;
}

function openPollDialog() {
  el.pollForm.reset();
  el.pollOptions.querySelectorAll("input").forEach((input) => input.remove());
  for (let i = 0; i < POLL_OPTIONS_MIN; i += 1) addPollOption();
  el.pollError.hidden = true;
  el.pollDialog.showModal();
  $("poll-question").focus();
}

async function submitPoll(event) {
  event.preventDefault();
  const room = state.room;
  if (!room) return;
  const options = [...el.pollOptions.querySelectorAll("input")].map((input) => input.value.trim()).filter(Boolean);
  if (options.length < POLL_OPTIONS_MIN) {
    el.pollError.textContent = fmt(t("A poll needs at least %(count)s options."), { count: POLL_OPTIONS_MIN });
    el.pollError.hidden = false;
    return;
  }
  try {
    const message = await rest.createPoll({
      room: room.id,
      question: $("poll-question").value.trim(),
      options,
      allows_multiple: $("poll-multiple").checked,
      is_anonymous: $("poll-anonymous").checked,
      client_id: newClientId(),
    });
    el.pollDialog.close();
    if (state.room && state.room.id === room.id) upsertMessage(message);
  } catch (error) {
    const data = error.data || {};
    el.pollError.textContent = data.detail || Object.values(data).flat().join(" ") || t("The poll could not be posted.");
    el.pollError.hidden = false;
  }
}

/** Cancel the upload in progress (the upload bar's Cancel button); false when there is none. */
export function cancelUpload() {
  if (!uploading) return false;
  uploading.abort();
  return true;
}

export function bindComposer() {
  el.pollButton.addEventListener("click", openPollDialog);
  $("poll-add-option").addEventListener("click", () => addPollOption());
  $("poll-cancel").addEventListener("click", () => el.pollDialog.close());
  el.pollForm.addEventListener("submit", submitPoll);
  el.input.addEventListener("input", () => {
    updateCounter();
    // Typing frames name the typist: none while composing an anonymous post.
    if (!el.anonymousInput.checked) noteTyping();
  });
  el.anonymousInput.addEventListener("change", () => {
    if (el.anonymousInput.checked) stopTyping();
    el.fileInput.disabled = el.anonymousInput.checked || el.input.disabled;
  });
  el.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitComposer();
    } else if (event.key === "ArrowUp" && !el.input.value && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      editLastOwnMessage();
    } else if (event.key === "Escape" && state.replyTo) {
      event.preventDefault();
      cancelReply();
    }
  });
  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submitComposer();
  });
  $("reply-cancel").addEventListener("click", cancelReply);
  el.fileInput.addEventListener("change", () => uploadFiles([...el.fileInput.files]));
  $("upload-cancel").addEventListener("click", cancelUpload);
}
