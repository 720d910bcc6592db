/**
 * The viewer's own socket: presence of the people they share rooms with, unread
 * counts and mentions for the room list (and desktop notifications), private
 * questions to staff, and the
 * viewer's status.
 */
import { PresenceClient, resolveSocketUrl } from "./client.js";
import { displayName, el, goToLogin, report, toast } from "./dom.js";
import { onReportFrame } from "./moderation.js";
import { notifyMention, notifyUnread, onNotificationsUpdated } from "./notify.js";
import { renderParticipants } from "./participants.js";
import { loadRooms, renderRoomList } from "./roomlist.js";
import { onStaffQuestionFrame } from "./staffquestions.js";
import { config, state } from "./state.js";
import { t, fmt } from "./i18n.js";

function updatePresenceDots(userId) {
  const status = state.presence.get(userId) || "offline";
  for (const dot of document.querySelectorAll(`.presence-dot[data-user-id="${userId}"]`)) dot.dataset.status = status;
}

export function startPresence() {
  const presence = new PresenceClient({
    url: resolveSocketUrl(config.presenceWebsocketUrl),
    heartbeatInterval: config.heartbeatInterval,
  });
  let snapshots = 0;
  presence.addEventListener("presence.snapshot", (event) => {
    // Back after a reconnect: what changed meanwhile in the other rooms (their counts,
    // rooms joined or left) is read again; the open room replays its own. Mentions
    // missed meanwhile are not known to REST: their "@" marks are not restored.
    if (snapshots++ > 0) loadRooms().catch(report);
    for (const item of event.detail.users) state.presence.set(item.user.id, item.status);
    for (const userId of state.presence.keys()) updatePresenceDots(userId);
    renderParticipants();
  });
  presence.addEventListener("presence", (event) => {
    state.presence.set(event.detail.user.id, event.detail.status);
    updatePresenceDots(event.detail.user.id);
    if (state.participants.has(event.detail.user.id)) renderParticipants();
  });
  presence.addEventListener("unread", (event) => {
    const { room_id: roomId, unread_count: count } = event.detail;
    const room = state.rooms.get(roomId);
    if (!room) {
      loadRooms().catch(report);
      return;
    }
    const before = room.unread_count || 0;
    room.unread_count = roomId === state.room?.id ? 0 : count;
    // Read up to here in another tab or device: its mentions were read with it.
    if (count === 0) state.mentions.delete(roomId);
    renderRoomList();
    notifyUnread(roomId, count, before);
  });
  presence.addEventListener("notification", (event) => {
    const { room_id: roomId, message } = event.detail;
    notifyMention(roomId, message);
    if (roomId === state.room?.id && document.visibilityState === "visible") return;
    state.mentions.set(roomId, (state.mentions.get(roomId) || 0) + 1);
    const room = state.rooms.get(roomId);
    toast(room ? fmt(t("%(name)s mentioned you in %(room)s."), { name: displayName(message.sender), room: room.name }) : fmt(t("%(name)s mentioned you."), { name: displayName(message.sender) }), "info");
    renderRoomList();
  });
  presence.addEventListener("report.created", (event) => onReportFrame(event.detail));
  presence.addEventListener("report.resolved", (event) => onReportFrame(event.detail));
  presence.addEventListener("notifications.updated", (event) => onNotificationsUpdated(event.detail));
  presence.addEventListener("staff_question.asked", (event) => onStaffQuestionFrame(event.detail));
  presence.addEventListener("staff_question.answered", (event) => onStaffQuestionFrame(event.detail));
  presence.addEventListener("auth.required", goToLogin);
  presence.connect();
  el.statusSelect.addEventListener("change", () => presence.setStatus(el.statusSelect.value));
  return presence;
}
