/**
 * Rooms: opening one (its header, history, participants and socket), the room
 * socket's events, resync, creating, joining and leaving, the home view, and
 * the sidebar that lists them on narrow screens.
 */
import { ApiError, ChatClient, rest, resolveSocketUrl } from "./client.js";
import { noteOwnMessage, startSlowMode, stopSlowMode, updateComposerAccess } from "./composer.js";
import {
  $, displayName, el, goToLogin, hideBanner, onConnectionState, report, roomPath, scrollToBottom,
  toast,
} from "./dom.js";
import {
  applyReaction, failPending, loadHistory, redrawMessage, rerenderAllMessages, showPending,
  showSystemMessage, updatePoll, upsertMessage,
} from "./messages.js";
import { loadPins, onPinned, onUnpinned, renderPins } from "./pins.js";
import { bindQueue, loadQueue, onQueueUpdated, renderQueue } from "./queue.js";
import { resetModeration, showSlowMode } from "./moderation.js";
import { notifyRoomMessage, renderMuteButton } from "./notify.js";
import { loadParticipants, renderParticipants } from "./participants.js";
import { cancelReply } from "./reply.js";
import { TYPE_LABELS, loadRooms, renderRoomList, scheduleRead } from "./roomlist.js";
import { updateStaffQuestions } from "./staffquestions.js";
import { config, me, seesAnonymousAuthors, state } from "./state.js";
import {
  closeThread, loadUnreadThreads, onPendingFailed, onPendingSend, onRoomMessage, onThreadRead, onThreadUpdated,
} from "./threads.js";
import { clearTypers, onTypingFrame } from "./typing.js";
import { t, tn, fmt } from "./i18n.js";

function renderRoomHeader() {
  const room = state.room;
  if (!room) return;
  el.roomTitle.textContent = room.name;
  document.title = fmt(t("%(room)s · Academia Chat"), { room: room.name });
  const members = fmt(tn("%(count)s member", "%(count)s members", room.participant_count), { count: room.participant_count });
  const bits = [TYPE_LABELS[room.chat_type] || room.chat_type, members];
  if (room.description) bits.push(room.description);
  if (room.slow_mode_seconds > 0) bits.push(fmt(t("Slow mode %(seconds)s s"), { seconds: room.slow_mode_seconds }));
  if (!room.is_active) bits.push(t("Archived"));
  el.roomMeta.textContent = bits.join(" · ");
  el.roomTools.hidden = false;
  // Any room one sees but a private one may be joined (again, after leaving it).
  el.joinButton.hidden = Boolean(room.my_role) || room.chat_type === "private" || !room.is_active;
  el.leaveButton.hidden = !room.my_role;
  renderMuteButton();
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

/** Open a room: its newest messages, or (`around`: a message id) the history around that message. */
// When the viewer last pressed a key or a pointer: a room that finishes loading after
// that does not pull the focus into its composer (the viewer has moved on).
let lastInteraction = 0;

export async function openRoom(roomId, { push = true, around = null } = {}) {
  const token = ++state.openToken;
  const openedAt = performance.now();
  closeRoomSocket();
  clearTypers();
  cancelReply();
  closeThread();
  state.denied = "";
  stopSlowMode();
  state.room = null;
  state.messages.clear();
  state.anonymousAuthors.clear();
  state.participants.clear();
  state.olderUrl = null;
  state.newerUrl = null;
  state.foundId = around;
  state.lastReadSent = 0;
  state.pins = [];
  state.queue = null;
  renderPins();
  renderQueue();
  el.messageList.replaceChildren();
  el.participantList.replaceChildren();
  resetModeration();
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
  resetModeration();
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
    await Promise.all([
      loadHistory(room.id, token, { around }),
      loadParticipants(room.id, token),
      loadPins(room.id, token),
      loadQueue(room.id, token),
      loadUnreadThreads(room.id, token),
    ]);
  } catch (error) {
    if (token === state.openToken) report(error);
  }
  if (token !== state.openToken) return;
  chat.connect();
  // The pins bar (and the queue's) came after the history was scrolled to its end and
  // took room from it: at the end again, unless the viewer moved meanwhile.
  if (!around && lastInteraction <= openedAt) scrollToBottom();
  if (!el.input.disabled && lastInteraction <= openedAt) el.input.focus({ preventScroll: true });
}

function showMissingRoom() {
  state.room = null;
  state.pins = [];
  state.queue = null;
  renderPins();
  renderQueue();
  el.roomTitle.textContent = t("Room not found");
  el.roomMeta.textContent = "";
  el.roomTools.hidden = true;
  el.messagesWrap.hidden = true;
  el.composerWrap.hidden = true;
  el.emptyState.hidden = false;
  el.emptyState.querySelector("h2").textContent = t("This room is not available");
  el.emptyState.querySelector("p").textContent = t("It does not exist, or you do not have access to it.");
}

export function showHome() {
  ++state.openToken;
  closeRoomSocket();
  state.room = null;
  state.pins = [];
  state.queue = null;
  renderPins();
  renderQueue();
  el.roomTitle.textContent = t("Welcome");
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
/** The staff's sockets get `anonymous.author` after an anonymous post's `message.created`;
 * staff who are no members of the room (site staff) do not, and read it over REST. */
const AUTHOR_FRAME_WAIT_MS = 2000;

function learnAnonymousAuthor(messageId) {
  const room = state.room;
  setTimeout(async () => {
    if (state.room !== room || state.anonymousAuthors.has(messageId)) return;
    try {
      const message = await rest.getMessage(messageId);
      if (state.room === room) upsertMessage(message);
    } catch (error) {
      report(error);
    }
  }, AUTHOR_FRAME_WAIT_MS);
}

function onAnonymousAuthor(frame) {
  state.anonymousAuthors.set(frame.message_id, frame.author);
  const known = state.messages.get(frame.message_id);
  if (known) upsertMessage({ ...known, anonymous_author: frame.author });
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
  chat.addEventListener("message.pinned", live((frame) => {
    onPinned(frame);
    redrawMessage(frame.pin.message.id);
  }));
  chat.addEventListener("message.unpinned", live((frame) => {
    onUnpinned(frame);
    redrawMessage(frame.message_id);
  }));
  chat.addEventListener("queue.updated", live(onQueueUpdated));
  chat.addEventListener("poll.updated", live((frame) => updatePoll(frame.poll)));
  const onMessage = (frame) => {
    upsertMessage(frame.message);
    onRoomMessage(frame);
  };
  chat.addEventListener("message.created", live((frame) => {
    onMessage(frame);
    noteOwnMessage(frame.message);
    notifyRoomMessage(frame.message);
    if (frame.message.is_anonymous && seesAnonymousAuthors()) learnAnonymousAuthor(frame.message.id);
  }));
  chat.addEventListener("anonymous.author", live(onAnonymousAuthor));
  chat.addEventListener("message.updated", live(onMessage));
  chat.addEventListener("message.deleted", live(onMessage));
  chat.addEventListener("thread.updated", live(onThreadUpdated));
  chat.addEventListener("thread.read", live(onThreadRead));
  chat.addEventListener("reaction.added", live((frame) => applyReaction(frame, true)));
  chat.addEventListener("reaction.removed", live((frame) => applyReaction(frame, false)));
  chat.addEventListener("participant.joined", live(onParticipantFrame));
  chat.addEventListener("participant.left", live(onParticipantFrame));
  chat.addEventListener("participant.updated", live(onParticipantFrame));
  chat.addEventListener("room.updated", live((frame) => {
    const room = { ...state.room, ...frame.room, my_role: state.room.my_role, unread_count: 0 };
    state.room = room;
    state.rooms.set(room.id, { ...state.rooms.get(room.id), ...room });
    if (!room.slow_mode_seconds) stopSlowMode();
    showSlowMode();
    renderRoomHeader();
    renderRoomList();
    showSystemMessage(frame);
  }));
  chat.addEventListener("typing", live(onTypingFrame));
  chat.addEventListener("send.pending", live(showPending));
  chat.addEventListener("send.pending", live(onPendingSend));
  chat.addEventListener("send.failed", live((detail) => {
    failPending(detail.client_id, detail.error.detail);
    onPendingFailed(detail.client_id);
    if (detail.error.code === "slow_mode") startSlowMode(Number(detail.error.retry_after) || 1);
  }));
  chat.addEventListener("error", live((frame) => {
    if (!frame.ref || !chat.pending.has(frame.ref)) toast(frame.detail || t("The server refused that."));
  }));
  chat.addEventListener("resync", live(() => resync(chat)));
  chat.addEventListener("auth.required", live(goToLogin));
  chat.addEventListener("denied", live((detail) => {
    state.denied = detail.code === 4404 ? t("This room no longer exists.") : t("You no longer have access to this room.");
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
    el.newRoomError.textContent = t("Give the room a name.");
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
    toast(fmt(t("You left %(room)s."), { room: room.name }), "info");
    await loadRooms();
    if (token !== state.openToken || !state.room) return;
    if (state.rooms.has(room.id)) applyMembership(null);
    else showHome();
  } catch (error) {
    report(error);
  }
}

// --- the sidebar -------------------------------------------------------------------------------

export function openSidebar() {
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

/** The viewer was taken from a room's office-hours queue: go to the private room. */
export async function onQueueTaken(frame) {
  toast(fmt(t("%(name)s is ready for you in a private room."), { name: displayName(frame.staff) }), "info");
  await loadRooms();
  await openRoom(frame.private_room.id);
}

export function bindRooms() {
  for (const type of ["pointerdown", "keydown"]) {
    document.addEventListener(type, () => { lastInteraction = performance.now(); }, { capture: true });
  }
  bindQueue((taken) => {
    loadRooms().then(() => openRoom(taken.room.id)).catch(report);
  });
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
