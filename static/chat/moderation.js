/**
 * The moderators' section of the participants panel: the room's audit log.
 * Shown only to the room's moderators and admins; the server decides again.
 */
import { rest } from "./client.js";
import { displayName, el, formatTime, node, report } from "./dom.js";
import { canModerate, state } from "./state.js";

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

export function bindModeration() {
  el.auditButton.addEventListener("click", () => loadAudit().catch(report));
}
