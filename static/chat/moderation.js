/**
 * Moderation: reporting a message (anyone who sees it), and the moderators' section
 * of the participants panel: the room's open reports, slow mode, bans and audit
 * log. That section is shown only to the room's moderators and admins; the server
 * decides again.
 */
import { rest } from "./client.js";
import { displayName, el, formatTime, node, report, toast } from "./dom.js";
import { canModerate, state } from "./state.js";
import { t, tn, fmt } from "./i18n.js";

const REASON_LABELS = { spam: t("Spam"), harassment: t("Harassment"), off_topic: t("Off topic"), other: t("Other") };
const RESOLVE_LABELS = { dismiss: t("Dismiss"), hide: t("Hide message"), mute: t("Mute author") };

const VIA_LABELS = { rest: t("web"), socket: t("live"), admin: t("admin"), system: t("system") };

// Whole sentences, so each language orders who and whom its own way.
const ACTION_TEXT = {
  mute: t("%(who)s muted %(whom)s"),
  unmute: t("%(who)s unmuted %(whom)s"),
  role_change: t("%(who)s changed the role of %(whom)s"),
  remove: t("%(who)s removed %(whom)s"),
  ban: t("%(who)s banned %(whom)s"),
  unban: t("%(who)s unbanned %(whom)s"),
  room_update: t("%(who)s updated the room"),
  archive: t("%(who)s archived the room"),
  hide: t("%(who)s hid a message of %(whom)s"),
  endorse: t("%(who)s endorsed an answer of %(whom)s"),
  unendorse: t("%(who)s withdrew the endorsement of %(whom)s"),
  pin: t("%(who)s pinned a message of %(whom)s"),
  unpin: t("%(who)s unpinned a message of %(whom)s"),
  report_resolve: t("%(who)s resolved a report about %(whom)s"),
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
    el.slowModeSelect.append(node("option", { text: fmt(tn("%(count)s second", "%(count)s seconds", Number(seconds)), { count: seconds }), attrs: { value: seconds } }));
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
    toast(fmt(t("%(name)s was banned."), { name: displayName(user) }), "info");
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
      text: t("Unban"),
      attrs: { type: "button", "aria-label": fmt(t("Unban %(name)s"), { name: displayName(ban.user) }) },
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
  if (!items.length) items.push(node("li", { className: "muted", text: t("Nobody is banned.") }));
  el.banList.replaceChildren(...items);
  el.banList.hidden = false;
  el.bansButton.setAttribute("aria-expanded", "true");
}

function describe(entry) {
  const who = entry.actor ? displayName(entry.actor) : t("Someone");
  // A target whose account is gone: one word for every sentence above, so a
  // language whose sentences need it in different cases translates it as a label.
  const whom = entry.target_user ? displayName(entry.target_user) : t("someone");
  return fmt(ACTION_TEXT[entry.action] || `%(who)s ${entry.action}`, { who, whom });
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
  if (!items.length) items.push(node("li", { className: "muted", text: t("No moderation actions yet.") }));
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
    toast(t("Thanks: the room's moderators will look at it."), "info");
  } catch (error) {
    report(error);
  }
}

// --- the moderators' queue ---------------------------------------------------------------------

function reportItem(item) {
  const li = node("li", { className: "report" });
  li.dataset.reportId = String(item.id);
  const message = item.message;
  const excerpt = message.is_deleted ? t("(message hidden)") : message.content.slice(0, 140);
  const by = item.reporter ? ` · ${fmt(t("reported by %(name)s"), { name: displayName(item.reporter) })}` : "";
  li.append(
    node("span", { className: "report__who", text: `${displayName(message.sender)}: ${excerpt}` }),
    node("span", { className: "muted", text: `${REASON_LABELS[item.reason] || item.reason}${by} · ${formatTime(item.created_at)}` }),
  );
  if (item.note) li.append(node("span", { className: "muted", text: `“${item.note}”` }));
  const actions = node("div", { className: "report__actions" });
  for (const [action, label] of Object.entries(RESOLVE_LABELS)) {
    // Muting an anonymous post's author would name them to the room: the server refuses it.
    if (action === "mute" && message.is_anonymous) continue;
    const button = node("button", {
      className: `btn btn--ghost btn--small${action === "dismiss" ? "" : " btn--danger"}`,
      text: label,
      attrs: { type: "button", "aria-label": fmt(t("%(action)s: report of %(name)s's message"), { action: label, name: displayName(message.sender) }) },
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
  if (!items.length) items.push(node("li", { className: "muted", text: t("No open reports.") }));
  el.reportList.replaceChildren(...items);
  el.reportList.hidden = false;
  el.reportsButton.setAttribute("aria-expanded", "true");
}

/** A `report.created` / `report.resolved` frame from the viewer's own stream. */
export function onReportFrame(frame) {
  const listed = state.rooms.get(frame.room_id);
  if (frame.type === "report.created") {
    const reason = REASON_LABELS[frame.report.reason] || frame.report.reason;
    toast(listed ? fmt(t("New report in %(room)s: %(reason)s."), { room: listed.name, reason }) : fmt(t("New report: %(reason)s."), { reason }), "info");
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
