/**
 * Rooms: opening one (its header, history, participants and socket), the room
 * socket's events, resync, creating, joining and leaving, the home view, and
 * the sidebar that lists them on narrow screens.
 */
import { ApiError, ChatClient, rest, resolveSocketUrl } from "./client.js";
import { updateComposerAccess } from "./composer.js";
import {
  $, el, goToLogin, hideBanner, onConnectionState, report, roomPath, toast,
} from "./dom.js";
import {
  applyReaction, failPending, loadHistory, rerenderAllMessages, showPending, showSystemMessage,
  upsertMessage,
} from "./messages.js";
import { loadParticipants, renderParticipants } from "./participants.js";
import { cancelReply } from "./reply.js";
import { TYPE_LABELS, loadRooms, renderRoomList, scheduleRead } from "./roomlist.js";
import { updateStaffQuestions } from "./staffquestions.js";
import { config, me, seesAnonymousAuthors, state } from "./state.js";
import { clearTypers, onTypingFrame } from "./typing.js";

function renderRoomHeader() {
  const room = state.room;
  if (!room) return;
  el.roomTitle.textContent = room.name;
  document.title = `${room.name} · Academia Chat`;
  const bits = [TYPE_LABELS[room.chat_type] || room.chat_type, `${room.participant_count} member${room.participant_count === 1 ? "" : "s"}`];
  if (room.description) bits.push(room.description);
  if (!room.is_active) bits.push("Archived");
  el.roomMeta.textContent = bits.join(" · ");
  el.roomTools.hidden = false;
  el.joinButton.hidden = Boolean(room.my_role) || room.chat_type !== "public" || !room.is_active;
  el.leaveButton.hidden = !room.my_role;
  updateComposerAccess();
  updateStaffQuestions();
}

// --- opening a room ----------------------------------------------------------------------------

function closeRoomSocket() {
  if (state.chat) {
    state.chat.close();
    state.chat = null;
  }
}

export async function openRoom(roomId, { push = true } = {}) {
  const token = ++state.openToken;
  closeRoomSocket();
  clearTypers();
  cancelReply();
  state.denied = "";
  state.room = null;
  state.messages.clear();
  state.participants.clear();
  state.olderUrl = null;
  state.lastReadSent = 0;
  el.messageList.replaceChildren();
  el.participantList.replaceChildren();
  updateComposerAccess();
  el.emptyState.hidden = true;
  el.messagesWrap.hidden = false;
  el.composerWrap.hidden = false;
  if (push && window.location.pathname !== roomPath(roomId)) {
    window.history.pushState({ roomId }, "", roomPath(roomId));
  }
  closeSidebar();
  let room;
  try {
    room = await rest.getRoom(roomId);
  } catch (error) {
    if (token !== state.openToken) return;
    if (error instanceof ApiError && error.status === 404) {
      showMissingRoom();
      return;
    }
    report(error);
    return;
  }
  if (token !== state.openToken) return;
  state.room = room;
  state.rooms.set(room.id, { ...state.rooms.get(room.id), ...room });
  state.mentions.delete(room.id);
  renderRoomHeader();
  renderRoomList();
  const chat = new ChatClient({
    url: resolveSocketUrl(config.websocketUrl),
    roomId: room.id,
    lastSeq: room.last_seq,
    heartbeatInterval: config.heartbeatInterval,
  });
  wireChat(chat);
  // Messages sent while the history loads are echoed and queued until the socket opens.
  state.chat = chat;
  try {
    await Promise.all([loadHistory(room.id, token), loadParticipants(room.id, token)]);
  } catch (error) {
    if (token === state.openToken) report(error);
  }
  if (token !== state.openToken) return;
  chat.connect();
  if (!el.input.disabled) el.input.focus({ preventScroll: true });
}

function showMissingRoom() {
  state.room = null;
  el.roomTitle.textContent = "Room not found";
  el.roomMeta.textContent = "";
  el.roomTools.hidden = true;
  el.messagesWrap.hidden = true;
  el.composerWrap.hidden = true;
  el.emptyState.hidden = false;
  el.emptyState.querySelector("h2").textContent = "This room is not available";
  el.emptyState.querySelector("p").textContent = "It does not exist, or you do not have access to it.";
}

export function showHome() {
  ++state.openToken;
  closeRoomSocket();
  state.room = null;
  el.roomTitle.textContent = "Welcome";
  el.roomMeta.textContent = "";
  el.roomTools.hidden = true;
  el.messagesWrap.hidden = true;
  el.composerWrap.hidden = true;
  el.emptyState.hidden = false;
  if (window.location.pathname !== config.pageUrl) window.history.pushState({}, "", config.pageUrl);
  renderRoomList();
}

// --- the room socket ---------------------------------------------------------------------------

/** Frames name no author of an anonymous post; the room's staff read it from REST. */
async function learnAnonymousAuthor(messageId) {
  const room = state.room;
  try {
    const message = await rest.getMessage(messageId);
    if (state.room === room) upsertMessage(message);
  } catch (error) {
    report(error);
  }
}

function wireChat(chat) {
  const live = (handler) => (event) => {
    if (state.chat === chat) handler(event.detail);
  };
  chat.addEventListener("state", (event) => {
    if (state.chat === chat) onConnectionState(event);
  });
  chat.addEventListener("ready", live((frame) => {
    if (frame.room) {
      state.room = { ...state.room, ...frame.room };
      renderRoomHeader();
    }
    scheduleRead();
  }));
  chat.addEventListener("message.created", live((frame) => {
    upsertMessage(frame.message);
    if (frame.message.is_anonymous && seesAnonymousAuthors()) learnAnonymousAuthor(frame.message.id);
  }));
  chat.addEventListener("message.updated", live((frame) => upsertMessage(frame.message)));
  chat.addEventListener("message.deleted", live((frame) => upsertMessage(frame.message)));
  chat.addEventListener("reaction.added", live((frame) => applyReaction(frame, true)));
  chat.addEventListener("reaction.removed", live((frame) => applyReaction(frame, false)));
  chat.addEventListener("participant.joined", live(onParticipantFrame));
  chat.addEventListener("participant.left", live(onParticipantFrame));
  chat.addEventListener("participant.updated", live(onParticipantFrame));
  chat.addEventListener("room.updated", live((frame) => {
    const room = { ...state.room, ...frame.room, my_role: state.room.my_role, unread_count: 0 };
    state.room = room;
    state.rooms.set(room.id, { ...state.rooms.get(room.id), ...room });
    renderRoomHeader();
    renderRoomList();
    showSystemMessage(frame);
  }));
  chat.addEventListener("typing", live(onTypingFrame));
  chat.addEventListener("send.pending", live(showPending));
  chat.addEventListener("send.failed", live((detail) => failPending(detail.client_id, detail.error.detail)));
  chat.addEventListener("error", live((frame) => {
    if (!frame.ref || !chat.pending.has(frame.ref)) toast(frame.detail || "The server refused that.");
  }));
  chat.addEventListener("resync", live(() => resync(chat)));
  chat.addEventListener("auth.required", live(goToLogin));
  chat.addEventListener("denied", live((detail) => {
    state.denied = detail.code === 4404 ? "This room no longer exists." : "You no longer have access to this room.";
    clearTypers();
    updateComposerAccess();
    rerenderAllMessages();
    hideBanner();
  }));
}

function onParticipantFrame(frame) {
  const participant = frame.participant;
  if (frame.type === "participant.left" || participant.is_active === false) {
    state.participants.delete(participant.user.id);
    if (participant.user.id === me.id) {
      state.room.my_role = null;
      const listed = state.rooms.get(state.room.id);
      if (listed) listed.my_role = null;
      renderRoomList();
    }
  } else {
    state.participants.set(participant.user.id, participant);
    if (participant.user.id === me.id) {
      state.room.my_role = participant.role;
      const listed = state.rooms.get(state.room.id);
      if (listed) listed.my_role = participant.role;
    }
  }
  state.room.participant_count = state.participants.size;
  renderParticipants();
  renderRoomHeader();
  rerenderAllMessages();
  showSystemMessage(frame);
}

async function resync(chat) {
  const token = state.openToken;
  try {
    const room = await rest.getRoom(chat.roomId);
    await loadHistory(chat.roomId, token);
    if (token !== state.openToken) return;
    state.room = room;
    renderRoomHeader();
    chat.restart(room.last_seq);
  } catch (error) {
    report(error);
  }
}

// --- creating, joining, leaving ----------------------------------------------------------------

async function createRoom(event) {
  event.preventDefault();
  const form = new FormData(el.newRoomForm);
  const body = {
    name: String(form.get("name") || "").trim(),
    description: String(form.get("description") || "").trim(),
    chat_type: String(form.get("chat_type") || "public"),
  };
  if (!body.name) {
    el.newRoomError.textContent = "Give the room a name.";
    el.newRoomError.hidden = false;
    return;
  }
  try {
    const room = await rest.createRoom(body);
    state.rooms.set(room.id, room);
    el.newRoomDialog.close();
    el.newRoomForm.reset();
    await openRoom(room.id);
  } catch (error) {
    el.newRoomError.textContent = error.message;
    el.newRoomError.hidden = false;
  }
}

/** Show the viewer's new membership of the open room without reopening it (the socket stays). */
function applyMembership(participant) {
  if (participant) state.participants.set(me.id, participant);
  else state.participants.delete(me.id);
  state.room.my_role = participant ? participant.role : null;
  state.room.participant_count = state.participants.size;
  renderRoomList();
  renderParticipants();
  renderRoomHeader();
  rerenderAllMessages();
}

async function joinRoom() {
  const room = state.room;
  const token = state.openToken;
  if (!room) return;
  try {
    const participant = await rest.joinRoom(room.id);
    await loadRooms();
    if (token !== state.openToken || !state.room) return;
    applyMembership(participant);
    scheduleRead();
    if (!el.input.disabled) el.input.focus();
  } catch (error) {
    report(error);
  }
}

async function leaveRoom() {
  const room = state.room;
  const token = state.openToken;
  if (!room) return;
  try {
    await rest.leaveRoom(room.id);
    toast(`You left ${room.name}.`, "info");
    await loadRooms();
    if (token !== state.openToken || !state.room) return;
    if (state.rooms.has(room.id)) applyMembership(null);
    else showHome();
  } catch (error) {
    report(error);
  }
}

// --- the sidebar -------------------------------------------------------------------------------

function openSidebar() {
  el.layout.classList.add("layout--sidebar-open");
  el.scrim.hidden = false;
  $("sidebar-open").setAttribute("aria-expanded", "true");
  el.roomFilter.focus();
}

export function closeSidebar() {
  el.layout.classList.remove("layout--sidebar-open");
  el.scrim.hidden = true;
  $("sidebar-open").setAttribute("aria-expanded", "false");
}

export function bindRooms() {
  el.roomList.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-room-id]");
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    openRoom(Number(link.dataset.roomId)).catch(report);
  });
  el.roomFilter.addEventListener("input", renderRoomList);
  window.addEventListener("popstate", () => {
    const match = window.location.pathname.match(/rooms\/(\d+)\/$/);
    if (match) openRoom(Number(match[1]), { push: false }).catch(report);
    else showHome();
  });

  $("sidebar-open").addEventListener("click", openSidebar);
  $("sidebar-close").addEventListener("click", closeSidebar);
  el.scrim.addEventListener("click", closeSidebar);
  el.joinButton.addEventListener("click", joinRoom);
  el.leaveButton.addEventListener("click", leaveRoom);

  $("new-room-button").addEventListener("click", () => {
    el.newRoomError.hidden = true;
    el.newRoomDialog.showModal();
    $("new-room-name").focus();
  });
  $("new-room-cancel").addEventListener("click", () => el.newRoomDialog.close());
  el.newRoomForm.addEventListener("submit", createRoom);
}
