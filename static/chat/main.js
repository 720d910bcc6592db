/**
 * The chat page's entry point (loaded as an ES module by templates/chat/page.html).
 *
 * Modules, from the bottom up; each imports only those above it in this list:
 *   client.js        the wire: REST endpoints, the sockets, socket-or-REST message actions
 *   state.js         configuration (the "chat-config" JSON block), the page state, permissions
 *   dom.js           the page's elements, node builders, formatting, toasts, the banner
 *   roomlist.js      the room list, its badges, read marks
 *   typing.js        who is typing, and the viewer's typing frames
 *   reply.js         the reply bar
 *   questions.js     the questions view (open / answered) and the composer's question option
 *   staffquestions.js  private questions to staff: asking, the staff's queue, answering
 *   messages.js      rendering and keeping the message list, message actions, history
 *   composer.js      the composer: sending, uploads, who may post
 *   participants.js  the participants panel and moderation
 *   presence.js      the viewer's own socket: presence, unread counts, mentions
 *   rooms.js         opening a room and its socket, joining, leaving, creating, the sidebar
 */
import { bindComposer, updateCounter } from "./composer.js";
import { $, el, hue, initials, displayName, report } from "./dom.js";
import { bindMessages } from "./messages.js";
import { bindParticipants, toggleParticipants } from "./participants.js";
import { bindQuestions } from "./questions.js";
import { bindStaffQuestions } from "./staffquestions.js";
import { startPresence } from "./presence.js";
import { loadRooms } from "./roomlist.js";
import { bindRooms, closeSidebar, openRoom } from "./rooms.js";
import { config, me } from "./state.js";

function showViewer() {
  $("me-name").textContent = displayName(me);
  const meAvatar = $("me-avatar");
  meAvatar.textContent = initials(me);
  meAvatar.style.setProperty("--avatar-hue", String(hue(me.id)));
}

function bindEscape() {
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (el.layout.classList.contains("layout--sidebar-open")) closeSidebar();
    else if (!el.participants.hidden && el.participants.contains(document.activeElement)) toggleParticipants(false);
  });
}

async function main() {
  showViewer();
  bindRooms();
  bindComposer();
  bindMessages();
  bindParticipants();
  bindQuestions();
  bindStaffQuestions();
  bindEscape();
  updateCounter();
  startPresence();
  await loadRooms();
  if (config.roomId) await openRoom(config.roomId, { push: false });
}

main().catch(report);
