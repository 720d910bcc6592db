/**
 * The composer's emoji picker: the server's catalogue (GET /chat/emoji/, the data the
 * renderer's `:shortcodes:` come from), loaded on first open, searched by name and
 * alias. A pick goes into the composer at the caret. Escape closes the picker.
 */
import { rest } from "./client.js";
import { $, el, node, report } from "./dom.js";

const SHOWN_MAX = 240;

let catalogue = null; // [{emoji, name, aliases, words}] once loaded
let loading = null;

const picker = () => $("emoji-picker");
const search = () => $("emoji-search");
const button = () => $("emoji-button");

function load() {
  if (!loading) {
    loading = rest.emojiCatalogue().then((entries) => {
      catalogue = entries.map((entry) => ({ ...entry, words: [entry.name, ...entry.aliases].join(" ").toLowerCase() }));
    });
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

/** Entries whose name or aliases contain every word of `query`. */
function matching(query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return catalogue;
  return catalogue.filter((entry) => words.every((word) => entry.words.includes(word)));
}

function render() {
  if (!catalogue) return;
  const found = matching(search().value.trim());
  const items = found.slice(0, SHOWN_MAX).map((entry) => {
    const item = node("button", {
      text: entry.emoji,
      attrs: { type: "button", role: "listitem", title: `:${entry.name.replaceAll(" ", "_")}:`, "aria-label": entry.name },
    });
    item.dataset.emoji = entry.emoji;
    return item;
  });
  $("emoji-grid").replaceChildren(...items);
  $("emoji-empty").hidden = found.length > 0;
}

/** Put `text` into the composer at the caret (replacing a selection). */
export function insertAtCaret(text) {
  const input = el.input;
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? start;
  input.setRangeText(text, start, end, "end");
  input.focus();
  // As if typed: the counter, typing and the preview follow.
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

export async function openEmojiPicker() {
  if (el.input.disabled) return;
  picker().hidden = false;
  button().setAttribute("aria-expanded", "true");
  search().value = "";
  search().focus();
  try {
    await load();
  } catch (error) {
    report(error);
    closeEmojiPicker();
    return;
  }
  render();
}

/** Close the picker; true if it was open. */
export function closeEmojiPicker({ focusComposer = false } = {}) {
  if (picker().hidden) return false;
  picker().hidden = true;
  button().setAttribute("aria-expanded", "false");
  if (focusComposer) el.input.focus();
  return true;
}

function pick(emoji) {
  closeEmojiPicker();
  insertAtCaret(emoji);
}

export function bindEmojiPicker() {
  button().addEventListener("click", () => {
    if (!picker().hidden) closeEmojiPicker({ focusComposer: true });
    else openEmojiPicker();
  });
  search().addEventListener("input", render);
  search().addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      const first = $("emoji-grid").querySelector("button");
      if (first) pick(first.dataset.emoji);
    }
  });
  $("emoji-grid").addEventListener("click", (event) => {
    const item = event.target.closest("button[data-emoji]");
    if (item) pick(item.dataset.emoji);
  });
  picker().addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      closeEmojiPicker({ focusComposer: true });
    }
  });
  document.addEventListener("click", (event) => {
    if (!picker().hidden && !picker().contains(event.target) && !button().contains(event.target)) closeEmojiPicker();
  });
}
