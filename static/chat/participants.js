/**
 * The participants panel of the open room: who is in it, their presence and
 * role, the moderators' mute and remove buttons, and their invitation by username
 * (course rooms follow enrolment instead).
 */
import { rest } from "./client.js";
import { updateComposerAccess } from "./composer.js";
import { $, avatar, displayName, el, node, report, toast } from "./dom.js";
import { banParticipant, canBan } from "./moderation.js";
import { canModerate, me, state } from "./state.js";
import { t, fmt } from "./i18n.js";

const STATUS_LABELS = { online: t("Online"), away: t("Away"), busy: t("Busy"), offline: t("Offline") };
const ROLE_LABELS = { moderator: t("moderator"), admin: t("admin") };

export async function loadParticipants(roomId, token) {
  const list = await rest.listParticipants(roomId);
  if (token !== state.openToken) return;
  state.participants = new Map(list.filter((p) => p.is_active !== false).map((p) => [p.user.id, p]));
  renderParticipants();
  updateComposerAccess();
}

export function renderParticipants() {
  const people = [...state.participants.values()].sort((a, b) => {
    const rank = (p) => (state.presence.get(p.user.id) || "offline") === "offline" ? 1 : 0;
    return rank(a) - rank(b) || displayName(a.user).localeCompare(displayName(b.user));
  });
  el.participantCount.textContent = String(people.length);
  const items = people.map((participant) => {
    const status = state.presence.get(participant.user.id) || "offline";
    const li = node("li", { className: "person" });
    li.dataset.userId = String(participant.user.id);
    const who = node("div", { className: "person__who" }, [
      node("span", { className: "person__name", text: participant.user.id === me.id ? fmt(t("%(name)s (you)"), { name: displayName(participant.user) }) : displayName(participant.user) }),
      node("span", { className: "person__status", text: STATUS_LABELS[status] || status }),
    ]);
    li.append(avatar(participant.user, { withPresence: true }), who);
    if (participant.role !== "member") li.append(node("span", { className: `role role--${participant.role}`, text: ROLE_LABELS[participant.role] || participant.role }));
    if (participant.is_muted) li.append(node("span", { className: "role role--muted", text: t("muted") }));
    if (canModerate() && participant.user.id !== me.id && participant.role !== "admin") {
      const actions = node("div", { className: "person__actions" });
      const mute = node("button", {
        className: "btn btn--ghost btn--small",
        text: participant.is_muted ? t("Unmute") : t("Mute"),
        attrs: { type: "button", "aria-label": fmt(participant.is_muted ? t("Unmute %(name)s") : t("Mute %(name)s"), { name: displayName(participant.user) }) },
      });
      mute.addEventListener("click", () => moderate(participant, { is_muted: !participant.is_muted }));
      const remove = node("button", {
        className: "btn btn--ghost btn--small btn--danger",
        text: t("Remove"),
        attrs: { type: "button", "aria-label": fmt(t("Remove %(name)s from the room"), { name: displayName(participant.user) }) },
      });
      remove.addEventListener("click", () => moderate(participant, null));
      actions.append(mute, remove);
      if (canBan()) {
        const ban = node("button", {
          className: "btn btn--ghost btn--small btn--danger",
          text: t("Ban"),
          attrs: { type: "button", "aria-label": fmt(t("Ban %(name)s from the room"), { name: displayName(participant.user) }) },
        });
        ban.addEventListener("click", () => banParticipant(participant.user));
        actions.append(ban);
      }
      li.append(actions);
    }
    return li;
  });
  el.participantList.replaceChildren(...items);
  const room = state.room;
  $("invite-form").hidden = !(room && room.is_active && room.chat_type !== "course" && canModerate());
}

async function invite(event) {
  event.preventDefault();
  const input = $("invite-input");
  const username = input.value.trim();
  if (!username || !state.room) return;
  try {
    const participant = await rest.inviteParticipant(state.room.id, username);
    state.participants.set(participant.user.id, participant);
    renderParticipants();
    input.value = "";
    toast(fmt(t("%(name)s is in the room."), { name: displayName(participant.user) }), "info");
  } catch (error) {
    report(error);
  }
}

async function moderate(participant, changes) {
  const roomId = state.room.id;
  try {
    if (changes === null) {
      await rest.removeParticipant(roomId, participant.user.id);
      state.participants.delete(participant.user.id);
      toast(fmt(t("%(name)s was removed."), { name: displayName(participant.user) }), "info");
    } else {
      const updated = await rest.updateParticipant(roomId, participant.user.id, changes);
      if (updated && updated.user) state.participants.set(updated.user.id, updated);
    }
    renderParticipants();
  } catch (error) {
    report(error);
  }
}

export function toggleParticipants(show = el.participants.hidden) {
  el.participants.hidden = !show;
  el.participantsButton.setAttribute("aria-expanded", show ? "true" : "false");
  el.layout.classList.toggle("layout--participants-open", show);
}

export function bindParticipants() {
  el.participantsButton.addEventListener("click", () => toggleParticipants());
  $("participants-close").addEventListener("click", () => toggleParticipants(false));
  $("invite-form").addEventListener("submit", invite);
}
