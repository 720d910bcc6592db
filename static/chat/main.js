/**
 * The chat page's entry point (loaded as an ES module by templates/chat/page.html).
 *
 * Modules, from the bottom up; each imports only those above it in this list:
 *   client.js        the wire: REST endpoints, the sockets, socket-or-REST message actions
 *   i18n.js          the page's words in the active language (t, tn, fmt over Django's catalogue)
 *   state.js         configuration (the "chat-config" JSON block), the page state, permissions
 *   dom.js           the page's elements, node builders, formatting, toasts, the banner
 *   moderation.js    reporting a message; the moderators' section: reports, slow mode, bans, audit log
 *   notify.js        desktop notifications, per-room mute, the unread count in the title and favicon
 *   roomlist.js      the room list, its badges, read marks
 *   typing.js        who is typing, and the viewer's typing frames
 *   reply.js         the reply bar
 *   questions.js     the questions view (open / answered) and the composer's question option
 *   pins.js          the pinned bar, pinning, "seen by" for the room's staff
 *   polls.js         polls in the message list: results, voting, closing
 *   staffquestions.js  private questions to staff: asking, the staff's queue, answering
 *   messages.js      rendering and keeping the message list, message actions, history
 *   queue.js         the office-hours panel: the queue, one's place, taking the next
 *   composer.js      the composer: sending, uploads, posting polls, who may post
 *   composer.js      the composer: sending, uploads (with cancel), who may post
 *   drop.js          files dropped on the room, images pasted into the composer
 *   emoji.js         the composer's emoji picker
 *   preview.js       the composer's Markdown preview (rendered by the server)
 *   participants.js  the participants panel and moderation
 *   threads.js       the thread panel, unread replies per thread, thread events
 *   presence.js      the viewer's own socket: presence, unread counts, mentions
 *   rooms.js         opening a room and its socket, joining, leaving, creating, the sidebar
 *   shortcuts.js     keyboard shortcuts and their help sheet
 *   emailsettings.js the viewer's offline email notifications (never, batched, immediately)
 *
 * theme.js, the colour theme, is a classic script of every page's <head> (base.html).
 *   search.js        message search: the box, its filters, results, opening a hit in its room
 */
import { rest } from "./client.js";
import { bindComposer, updateCounter } from "./composer.js";
import { $, el, hue, initials, displayName, report } from "./dom.js";
import { bindDrop } from "./drop.js";
import { bindEmailSettings } from "./emailsettings.js";
import { bindEmojiPicker } from "./emoji.js";
import { bindMessages } from "./messages.js";
import { bindModeration } from "./moderation.js";
import { bindNotifications } from "./notify.js";
import { bindParticipants, toggleParticipants } from "./participants.js";
import { bindQuestions } from "./questions.js";
import { bindStaffQuestions } from "./staffquestions.js";
import { startPresence } from "./presence.js";
import { bindPreview } from "./preview.js";
import { loadRooms, renderRoomList } from "./roomlist.js";
import { bindRooms, closeSidebar, onQueueTaken, openRoom } from "./rooms.js";
import { cancelReply } from "./reply.js";
import { bindSearch, closeSearchResults } from "./search.js";
import { bindShortcuts } from "./shortcuts.js";
import { bindThreads, closeThread } from "./threads.js";
import { config, me, state } from "./state.js";

function showViewer() {
  $("me-name").textContent = displayName(me);
  const meAvatar = $("me-avatar");
  meAvatar.textContent = initials(me);
  meAvatar.style.setProperty("--avatar-hue", String(hue(me.id)));
}

/** The user menu's language: saved to the account, then the page is drawn again in it. */
function bindLanguage() {
  const select = $("language-select");
  select.addEventListener("change", async () => {
    select.disabled = true;
    try {
      await rest.setLanguage(select.value);
      window.location.reload();
    } catch (error) {
      select.disabled = false;
      report(error);
    }
  });
}

/** Escape, wherever the focus is, closes the one open thing on top: the sidebar (on
 * a phone), the participants or thread panel, the search results, the reply. What
 * handles Escape itself (an edit box, the emoji picker, a dialog) comes first. */
function bindEscape() {
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    if (document.querySelector("dialog[open]")) return;
    if (el.layout.classList.contains("layout--sidebar-open")) closeSidebar();
    else if (!el.participants.hidden) toggleParticipants(false);
    else if (closeThread()) el.input.focus();
    else if (closeSearchResults()) el.input.focus();
    else if (state.replyTo) cancelReply();
  });
}

/** The browser knows before any heartbeat that the network went or came back: the
 * sockets reconnect at once (the banner says "Reconnecting…" while offline; what is
 * sent meanwhile waits and goes out once back). */
function bindNetwork(presence) {
  const changed = () => {
    presence.networkChanged();
    state.chat?.networkChanged();
  };
  window.addEventListener("offline", changed);
  window.addEventListener("online", changed);
}

async function main() {
  showViewer();
  bindRooms();
  bindComposer();
  bindDrop();
  bindEmojiPicker();
  bindPreview();
  bindShortcuts();
  bindMessages();
  bindParticipants();
  bindQuestions();
  bindModeration();
  bindThreads();
  bindSearch();
  bindStaffQuestions();
  bindEscape();
  bindLanguage();
  bindNotifications({ openRoom: (roomId) => openRoom(roomId).catch(report), renderRoomList });
  updateCounter();
  const presence = startPresence();
  presence.addEventListener("queue.taken", (event) => onQueueTaken(event.detail).catch(report));
  bindNetwork(presence);
  bindEmailSettings().catch(report);
  await loadRooms();
  // A link to a message (an email's, `/rooms/<id>/?message=<id>`) opens the history around it.
  const around = Number(new URLSearchParams(window.location.search).get("message")) || null;
  if (config.roomId) await openRoom(config.roomId, { push: false, around });
}

main().catch(report);
