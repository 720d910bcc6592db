/**
 * Message search: the search box and its filters, the results list (room, sender,
 * time, the server's highlighted snippet), and opening a hit in its room with the
 * history around it.
 */
import { rest } from "./client.js";
import { $, displayName, node, report, setSanitisedHtml } from "./dom.js";
import { openRoom } from "./rooms.js";
import { me, state } from "./state.js";
import { t, tn, fmt, language } from "./i18n.js";

const SEARCH_DELAY_MS = 300;

const form = $("search-form");
const input = $("search-input");
const roomSelect = $("search-room");
const senderSelect = $("search-sender");
const hasFile = $("search-has-file");
const dateFrom = $("search-date-from");
const dateTo = $("search-date-to");
const results = $("search-results");
const list = $("search-result-list");
const title = $("search-results-title");
const more = $("search-more");

let timer = null;
let nextUrl = null;
let searchToken = 0;

function filters() {
  return {
    room: roomSelect.value,
    sender: senderSelect.value,
    has_file: hasFile.checked ? "true" : "",
    date_from: dateFrom.value,
    date_to: dateTo.value,
  };
}

function when(iso) {
  return new Date(iso).toLocaleString(language, { dateStyle: "medium", timeStyle: "short" });
}

function renderHit(hit) {
  const button = node("button", { className: "search-hit", attrs: { type: "button" } }, [
    node("span", {
      className: "search-hit__where",
      text: `${hit.room.name} · ${displayName(hit.message.sender)} · ${when(hit.message.created_at)}`,
    }),
  ]);
  const text = node("span", { className: "search-hit__text" });
  // The server escaped the text and added only <mark> around the matches.
  if (hit.highlight) setSanitisedHtml(text, hit.highlight);
  else text.textContent = hit.message.file ? hit.message.file.name : "";
  button.append(text);
  button.dataset.messageId = String(hit.message.id);
  button.addEventListener("click", () => {
    openRoom(hit.room.id, { around: hit.message.id }).catch(report);
  });
  return node("li", {}, [button]);
}

function showPage(data, { append }) {
  if (!append) list.replaceChildren();
  list.append(...data.results.map(renderHit));
  title.textContent = fmt(tn("%(count)s result", "%(count)s results", data.count), { count: data.count });
  if (!data.count) list.replaceChildren(node("p", { className: "search-results__empty", text: t("No messages match.") }));
  nextUrl = data.next;
  more.hidden = !nextUrl;
  results.hidden = false;
}

async function runSearch() {
  const q = input.value.trim();
  const token = ++searchToken;
  if (!q) {
    closeResults();
    return;
  }
  results.setAttribute("aria-busy", "true");
  try {
    const data = await rest.searchMessages(q, filters());
    if (token === searchToken) showPage(data, { append: false });
  } catch (error) {
    if (token === searchToken) report(error);
  } finally {
    if (token === searchToken) results.removeAttribute("aria-busy");
  }
}

async function loadMore() {
  if (!nextUrl) return;
  const token = searchToken;
  try {
    const data = await rest.followPage(nextUrl);
    if (token === searchToken) showPage(data, { append: true });
  } catch (error) {
    report(error);
  }
}

function closeResults() {
  ++searchToken;
  results.hidden = true;
  list.replaceChildren();
  nextUrl = null;
}

/** Close the search results (Escape anywhere); true if they were open. */
export function closeSearchResults() {
  if (results.hidden) return false;
  closeResults();
  return true;
}

function option(value, text) {
  return node("option", { text, attrs: { value: String(value) } });
}

/** The filters' choices: the rooms as listed, and the people of the open room. */
function fillChoices() {
  const room = roomSelect.value;
  roomSelect.replaceChildren(option("", t("All rooms")), ...[...state.rooms.values()].map((r) => option(r.id, r.name)));
  roomSelect.value = room;
  const sender = senderSelect.value;
  const people = [...state.participants.values()].map((p) => p.user).filter((user) => user.id !== me.id);
  senderSelect.replaceChildren(option("", t("Anyone")), option(me.id, t("Me")), ...people.map((user) => option(user.id, displayName(user))));
  senderSelect.value = sender;
}

export function bindSearch() {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    runSearch();
  });
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(runSearch, SEARCH_DELAY_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && input.value) {
      event.stopPropagation();
      input.value = "";
      closeResults();
    }
  });
  for (const control of [roomSelect, senderSelect, hasFile, dateFrom, dateTo]) {
    control.addEventListener("change", () => {
      if (input.value.trim()) runSearch();
    });
  }
  form.querySelector("details").addEventListener("toggle", fillChoices);
  input.addEventListener("focus", fillChoices);
  more.addEventListener("click", loadMore);
  $("search-close").addEventListener("click", () => {
    input.value = "";
    closeResults();
  });
}
