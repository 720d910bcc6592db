/**
 * Moderation: reporting a message (anyone who sees it), and the moderators' section
 * of the participants panel: the room's open reports, slow mode, bans and audit
 * log. That section is shown only to the room's moderators and admins; the server
 * decides again.
 */
import { rest } from "./client.js";
import { displayName, el, formatTime, node, report, toast } from "./dom.js";
import { canModerate, state } from "./state.js";

const REASON_LABELS = { spam: "Spam", harassment: "Harassment", off_topic: "Off topic", other: "Other" };
const RESOLVE_LABELS = { dismiss: "Dismiss", hide: "Hide message", mute: "Mute author" };

const VIA_LABELS = { rest: "web", socket: "live", admin: "admin", system: "system" };

const ACTION_TEXT = {
  mute: "muted",
  unmute: "unmuted",
  role_change: "changed the role of",
  remove: "removed",
  ban: "banned",
  unban: "unbanned",
  room_update: "updated the room",
  archive: "archived the room",
  hide: "hid a message of",
  endorse: "endorsed an answer of",
  unendorse: "withdrew the endorsement of",
  pin: "pinned a message of",
  unpin: "unpinned a message of",
  report_resolve: "resolved a report about",
};

/** Show the section (empty) for a moderator of the newly opened room, hide it for others. */
export function resetModeration() {
  el.moderation.hidden = !canModerate();
  el.auditList.hidden = true;
  el.auditList.replaceChildren();
  el.auditButton.setAttribute("aria-expanded", "false");
  el.banList.hidden = true;
  el.banList.replaceChildren();
  el.reportList.hidden = true;
  el.reportList.replaceChildren();
  el.reportCount.textContent = "";
  el.reportsButton.setAttribute("aria-expanded", "false");
  el.bansButton.setAttribute("aria-expanded", "false");
  el.bansButton.hidden = !canBan();
  showSlowMode();
}

/** Bans apply to public and support rooms (course rooms follow enrolment, private ones invitation). */
export function canBan(room = state.room) {
  return canModerate(room) && (room.chat_type === "public" || room.chat_type === "support");
}

/** Show the room's slow mode in the select (a value the list lacks is added). */
export function showSlowMode() {
  const seconds = String(state.room ? state.room.slow_mode_seconds || 0 : 0);
  if (![...el.slowModeSelect.options].some((option) => option.value === seconds)) {
    el.slowModeSelect.append(node("option", { text: `${seconds} seconds`, attrs: { value: seconds } }));
  }
  el.slowModeSelect.value = seconds;
}

async function setSlowMode() {
  const room = state.room;
  if (!room) return;
  try {
    await rest.updateRoom(room.id, { slow_mode_seconds: Number(el.slowModeSelect.value) });
  } catch (error) {
    showSlowMode();
    report(error);
  }
}

/** Ban a participant (from the participants panel); the room's `participant.left` updates the list. */
export async function banParticipant(user) {
  const room = state.room;
  try {
    await rest.banUser(room.id, user.id);
    toast(`${displayName(user)} was banned.`, "info");
    if (!el.banList.hidden) await loadBans();
  } catch (error) {
    report(error);
  }
}

export async function loadBans() {
  const room = state.room;
  if (!room) return;
  const token = state.openToken;
  const bans = await rest.listBans(room.id);
  if (token !== state.openToken) return;
  const items = bans.map((ban) => {
    const li = node("li", { className: "ban" });
    const lift = node("button", {
      className: "btn btn--ghost btn--small",
      text: "Unban",
      attrs: { type: "button", "aria-label": `Unban ${displayName(ban.user)}` },
    });
    lift.addEventListener("click", async () => {
      try {
        await rest.unbanUser(room.id, ban.user.id);
        await loadBans();
      } catch (error) {
        report(error);
      }
    });
    const reason = ban.reason ? ` · ${ban.reason}` : "";
    li.append(
      node("span", { text: displayName(ban.user) }),
      node("span", { className: "muted", text: `${formatTime(ban.created_at)}${reason}` }),
      lift,
    );
    return li;
  });
  if (!items.length) items.push(node("li", { className: "muted", text: "Nobody is banned." }));
  el.banList.replaceChildren(...items);
  el.banList.hidden = false;
  el.bansButton.setAttribute("aria-expanded", "true");
}

function describe(entry) {
  const who = entry.actor ? displayName(entry.actor) : "Someone";
  const what = ACTION_TEXT[entry.action] || entry.action;
  const whom = entry.target_user ? ` ${displayName(entry.target_user)}` : "";
  return `${who} ${what}${whom}`;
}

export async function loadAudit() {
  const room = state.room;
  if (!room) return;
  const token = state.openToken;
  const page = await rest.listAudit(room.id);
  if (token !== state.openToken) return;
  const items = page.results.map((entry) => {
    const li = node("li", { className: "audit__entry" });
    li.dataset.action = entry.action;
    li.append(
      node("span", { text: describe(entry) }),
      node("span", { className: "muted", text: `${formatTime(entry.created_at)} · ${VIA_LABELS[entry.via] || entry.via}` }),
    );
    return li;
  });
  if (!items.length) items.push(node("li", { className: "muted", text: "No moderation actions yet." }));
  el.auditList.replaceChildren(...items);
  el.auditList.hidden = false;
  el.auditButton.setAttribute("aria-expanded", "true");
}

// --- reporting ------------------------------------------------------------------------------

let reporting = null; // the MESSAGE the report dialog is about

/** Open the report dialog for `message`. */
export function openReportDialog(message) {
  reporting = message;
  el.reportForm.reset();
  el.reportDialog.showModal();
}

async function submitReport(event) {
  event.preventDefault();
  const message = reporting;
  if (!message) return;
  const data = new FormData(el.reportForm);
  try {
    await rest.reportMessage(message.id, String(data.get("reason")), String(data.get("note") || "").trim());
    el.reportDialog.close();
    toast("Thanks: the room's moderators will look at it.", "info");
  } catch (error) {
    report(error);
  }
}

// --- the moderators' queue ---------------------------------------------------------------------

function reportItem(item) {
  const li = node("li", { className: "report" });
  li.dataset.reportId = String(item.id);
  const message = item.message;
  const excerpt = message.is_deleted ? "(message hidden)" : message.content.slice(0, 140);
  const by = item.reporter ? ` · reported by ${displayName(item.reporter)}` : "";
  li.append(
    node("span", { className: "report__who", text: `${displayName(message.sender)}: ${excerpt}` }),
    node("span", { className: "muted", text: `${REASON_LABELS[item.reason] || item.reason}${by} · ${formatTime(item.created_at)}` }),
  );
  if (item.note) li.append(node("span", { className: "muted", text: `“${item.note}”` }));
  const actions = node("div", { className: "report__actions" });
  for (const [action, label] of Object.entries(RESOLVE_LABELS)) {
    const button = node("button", {
      className: `btn btn--ghost btn--small${action === "dismiss" ? "" : " btn--danger"}`,
      text: label,
      attrs: { type: "button", "aria-label": `${label}: report of ${displayName(message.sender)}'s message` },
    });
    button.addEventListener("click", async () => {
      try {
        await rest.resolveReport(item.id, action);
        await loadReports();
      } catch (error) {
        report(error);
      }
    });
    actions.append(button);
  }
  li.append(actions);
  return li;
}

export async function loadReports() {
  const room = state.room;
  if (!room) return;
  const token = state.openToken;
  const page = await rest.listReports(room.id, "open");
  if (token !== state.openToken) return;
  const items = page.results.map(reportItem);
  el.reportCount.textContent = page.count ? String(page.count) : "";
  if (!items.length) items.push(node("li", { className: "muted", text: "No open reports." }));
  el.reportList.replaceChildren(...items);
  el.reportList.hidden = false;
  el.reportsButton.setAttribute("aria-expanded", "true");
}

/** A `report.created` / `report.resolved` frame from the viewer's own stream. */
export function onReportFrame(frame) {
  const listed = state.rooms.get(frame.room_id);
  if (frame.type === "report.created") {
    toast(`New report${listed ? ` in ${listed.name}` : ""}: ${REASON_LABELS[frame.report.reason] || frame.report.reason}.`, "info");
  }
  if (state.room && state.room.id === frame.room_id && canModerate()) loadReports().catch(report);
}

export function bindModeration() {
  el.reportsButton.addEventListener("click", () => loadReports().catch(report));
  el.reportForm.addEventListener("submit", submitReport);
  document.getElementById("report-cancel").addEventListener("click", () => el.reportDialog.close());
  el.auditButton.addEventListener("click", () => loadAudit().catch(report));
  el.bansButton.addEventListener("click", () => loadBans().catch(report));
  el.slowModeSelect.addEventListener("change", setSlowMode);
}
