/**
 * Files dropped on the open room, or images pasted into the composer, are uploaded
 * to the room as the attach button does (one after another, with its progress bar
 * and Cancel button). Only while the viewer may post there, and never while
 * "Post anonymously" is ticked: anonymous posts are text only (a file's name and
 * metadata could tell who), so they are refused with a note instead.
 */
import { uploadFiles } from "./composer.js";
import { $, el, toast } from "./dom.js";
import { t } from "./i18n.js";
import { canPost, state } from "./state.js";

function carriesFiles(event) {
  return Boolean(event.dataTransfer && [...event.dataTransfer.types].includes("Files"));
}

function accepting() {
  return Boolean(state.room) && canPost() && !el.input.disabled;
}

/** Upload ``files`` unless the post is to be anonymous (then say why not). */
function upload(files) {
  if (el.anonymousInput.checked) {
    toast(t("Anonymous posts are text only: untick “Post anonymously” to send a file."));
    return;
  }
  uploadFiles(files);
}

export function bindDrop() {
  const room = $("room");
  let depth = 0; // dragenter/dragleave pairs of the room's children
  const stop = () => {
    depth = 0;
    room.classList.remove("room--dropping");
  };
  room.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event) || !accepting()) return;
    event.preventDefault();
    depth += 1;
    room.classList.add("room--dropping");
  });
  room.addEventListener("dragover", (event) => {
    if (!carriesFiles(event) || !accepting()) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  room.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) stop();
  });
  room.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    stop();
    if (accepting()) upload([...event.dataTransfer.files]);
  });
  el.input.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData ? event.clipboardData.files : [])].filter((file) => file.type.startsWith("image/"));
    if (!files.length || !accepting()) return;
    event.preventDefault();
    upload(files);
  });
}
