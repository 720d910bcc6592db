/**
 * Files dropped on the open room, or images pasted into the composer, are uploaded
 * to the room as the attach button does (one after another, with its progress bar
 * and Cancel button). Only while the viewer may post there.
 */
import { uploadFiles } from "./composer.js";
import { $, el } from "./dom.js";
import { canPost, state } from "./state.js";

function carriesFiles(event) {
  return Boolean(event.dataTransfer && [...event.dataTransfer.types].includes("Files"));
}

function accepting() {
  return Boolean(state.room) && canPost() && !el.input.disabled;
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
    if (accepting()) uploadFiles([...event.dataTransfer.files]);
  });
  el.input.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData ? event.clipboardData.files : [])].filter((file) => file.type.startsWith("image/"));
    if (!files.length || !accepting()) return;
    event.preventDefault();
    uploadFiles(files);
  });
}
