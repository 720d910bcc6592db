/**
 * The composer: the character counter, who may post and why not, sending,
 * file uploads with progress and a cancel button, and its keyboard (Enter sends, Shift+Enter breaks
 * the line, ArrowUp edits the viewer's last message, Escape cancels a reply).
 */
import { newClientId, rest } from "./client.js";
import { $, el, formatSize, report, toast } from "./dom.js";
import { editLastOwnMessage, upsertMessage } from "./messages.js";
import { cancelReply } from "./reply.js";
import { canPost, config, me, state } from "./state.js";
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
  state.chat.send(text, { replyTo: state.replyTo ? state.replyTo.id : null });
  stopTyping();
  el.input.value = "";
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
    toast(`${file.name} is larger than the ${formatSize(config.fileUploadLimit)} limit.`);
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
      toast(`Upload of ${file.name} cancelled.`, "info");
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

/** Cancel the upload in progress (the upload bar's Cancel button); false when there is none. */
export function cancelUpload() {
  if (!uploading) return false;
  uploading.abort();
  return true;
}

export function bindComposer() {
  el.input.addEventListener("input", () => {
    updateCounter();
    noteTyping();
  });
  el.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitComposer();
    } else if (event.key === "ArrowUp" && !el.input.value && !event.altKey && !event.ctrlKey && !event.metaKey) {
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
  el.fileInput.addEventListener("change", () => uploadFiles([...el.fileInput.files]));
  $("upload-cancel").addEventListener("click", cancelUpload);
}
