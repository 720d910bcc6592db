/**
 * Keyboard shortcuts and their help sheet (`?`, or the composer hint's button):
 * Ctrl/Cmd+K jumps to a room (the room filter; Enter opens the first match),
 * Alt+↑/↓ opens the previous/next room of the list, Escape closes the emoji picker
 * (the sidebar, participants, dialogs and the reply bar close where they are bound).
 * ↑ in an empty composer (composer.js) edits the viewer's last message.
 */
import { $, el, report } from "./dom.js";
import { closeEmojiPicker } from "./emoji.js";
import { openRoom, openSidebar } from "./rooms.js";
import { state } from "./state.js";

const help = () => $("shortcuts-dialog");

function typingIn(target) {
  return Boolean(target && target.closest && target.closest("input, textarea, select, [contenteditable='true']"));
}

function narrow() {
  return window.matchMedia("(max-width: 900px)").matches;
}

export function openShortcuts() {
  if (!help().open) help().showModal();
}

function roomLinks() {
  return [...el.roomList.querySelectorAll("a[data-room-id]")];
}

function jumpToRoom() {
  if (narrow()) openSidebar();
  el.roomFilter.focus();
  el.roomFilter.select();
}

function switchRoom(step) {
  const links = roomLinks();
  if (!links.length) return;
  const here = links.findIndex((link) => Number(link.dataset.roomId) === state.room?.id);
  let next;
  if (here === -1) next = step > 0 ? 0 : links.length - 1;
  else next = (here + step + links.length) % links.length;
  openRoom(Number(links[next].dataset.roomId)).catch(report);
}

export function bindShortcuts() {
  $("shortcuts-button").addEventListener("click", openShortcuts);
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing) return;
    const command = event.ctrlKey || event.metaKey;
    if (command && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "k") {
      event.preventDefault();
      jumpToRoom();
    } else if (event.altKey && !command && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      switchRoom(event.key === "ArrowUp" ? -1 : 1);
    } else if (event.key === "?" && !command && !event.altKey && !typingIn(event.target)) {
      event.preventDefault();
      openShortcuts();
    } else if (event.key === "Escape" && closeEmojiPicker({ focusComposer: true })) {
      event.preventDefault(); // one Escape closes one thing
    }
  });
  el.roomFilter.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      const [first] = roomLinks();
      if (first) {
        el.roomFilter.value = "";
        openRoom(Number(first.dataset.roomId)).catch(report);
      }
    } else if (event.key === "Escape" && el.roomFilter.value) {
      event.preventDefault();
      el.roomFilter.value = "";
      el.roomFilter.dispatchEvent(new Event("input"));
    }
  });
}
