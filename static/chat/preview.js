/**
 * The composer's Markdown preview: while it is on, the draft is rendered by the
 * server (POST /chat/render/, the renderer and sanitiser that store messages, so
 * the preview is what the room will see) after each pause in typing.
 */
import { rest } from "./client.js";
import { $, el, setSanitisedHtml } from "./dom.js";
import { state } from "./state.js";
import { t } from "./i18n.js";

const PAUSE_MS = 350;

let timer = null;
let controller = null;

const pane = () => $("composer-preview");
const body = () => $("composer-preview-body");
const toggle = () => $("preview-toggle");

function previewOn() {
  return toggle().getAttribute("aria-pressed") === "true";
}

function showText(text, kind) {
  body().textContent = text;
  pane().classList.toggle("composer-preview--empty", kind === "empty");
  pane().classList.toggle("composer-preview--error", kind === "error");
}

async function refresh() {
  clearTimeout(timer);
  if (controller) controller.abort();
  const room = state.room;
  const text = el.input.value;
  if (!room || !text.trim()) {
    showText(t("Nothing to preview yet."), "empty");
    return;
  }
  const current = new AbortController();
  controller = current;
  try {
    const answer = await rest.renderPreview(room.id, text, { signal: current.signal });
    if (controller !== current) return;
    pane().classList.remove("composer-preview--empty", "composer-preview--error");
    setSanitisedHtml(body(), answer.content_html);
  } catch (error) {
    if (current.signal.aborted || controller !== current) return;
    showText(error.message || t("The preview failed."), "error");
  }
}

/** After an edit of the draft (typing, sending, an emoji): a preview after the pause. */
export function schedulePreview() {
  if (!previewOn()) return;
  clearTimeout(timer);
  timer = setTimeout(refresh, PAUSE_MS);
}

export function setPreview(on) {
  toggle().setAttribute("aria-pressed", String(on));
  toggle().textContent = on ? t("Hide preview") : t("Preview");
  pane().hidden = !on;
  if (on) refresh();
  else {
    clearTimeout(timer);
    if (controller) controller.abort();
    controller = null;
  }
}

export function bindPreview() {
  toggle().addEventListener("click", () => setPreview(!previewOn()));
  el.input.addEventListener("input", schedulePreview);
  // Sending clears the draft without an input event.
  el.composer.addEventListener("submit", () => setTimeout(schedulePreview, 0));
  el.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) setTimeout(schedulePreview, 0);
  });
}
