/**
 * The composer: the character counter, who may post and why not, sending,
 * file uploads with progress, and its keyboard (Enter sends, Shift+Enter breaks
 * the line, ArrowUp edits the viewer's last message, Escape cancels a reply).
 */
import { newClientId, rest } from "./client.js";
import { $, el, formatSize, report, toast } from "./dom.js";
import { editLastOwnMessage, upsertMessage } from "./messages.js";
import { updateQuestionOption } from "./questions.js";
import { cancelReply } from "./reply.js";
import { canPost, canPostAnonymously, config, me, state } from "./state.js";
import { noteTyping, stopTyping } from "./typing.js";

export function updateComposerAccess() {
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
  form.append("client_id", newClientId());
  const caption = el.input.value.trim();
  if (caption && caption.length <= config.maxMessageLength) form.append("content", caption);
  el.uploadName.textContent = `${file.name} · ${formatSize(file.size)}`;
  el.uploadProgress.value = 0;
  el.upload.hidden = false;
  try {
    const message = await rest.postFile(form, {
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

export function bindComposer() {
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
}
