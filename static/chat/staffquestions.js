/**
 * Private questions to staff in course rooms: members ask the room's staff from the
 * "Ask staff privately" dialog and read the answers there; the staff (moderators,
 * instructors, is_staff) see the queue and answer. Other members never see them.
 */
import { rest } from "./client.js";
import { displayName, el, formatTime, node, report, setSanitisedHtml, toast } from "./dom.js";
import { canModerate, config, state } from "./state.js";
import { t, fmt } from "./i18n.js";

function isStaffHere(room = state.room) {
  return Boolean(room && (canModerate(room) || config.isStaff));
}

function currentStatus() {
  const checked = el.staffDialog.querySelector('input[name="staff-question-status"]:checked');
  return checked ? checked.value : "";
}

function answerForm(question) {
  const input = node("textarea", {
    className: "input staff-question__input",
    attrs: { rows: "2", "aria-label": fmt(t("Answer %(name)s"), { name: displayName(question.asker) }), maxlength: String(config.maxMessageLength) },
  });
  const form = node("form", { className: "staff-question__form" }, [
    input,
    node("button", { className: "btn btn--primary", text: question.answer ? t("Replace answer") : t("Answer"), attrs: { type: "submit" } }),
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    try {
      await rest.answerStaffQuestion(question.id, content);
      await loadStaffQuestions();
    } catch (error) {
      report(error);
    }
  });
  return form;
}

function renderStaffQuestion(question) {
  const li = node("li", { className: "staff-question" });
  li.dataset.id = String(question.id);
  li.dataset.status = question.status;
  li.append(node("div", { className: "staff-question__head" }, [
    node("strong", { text: displayName(question.asker) }),
    node("time", { className: "muted", text: formatTime(question.created_at), attrs: { datetime: question.created_at } }),
  ]));
  const body = node("div", { className: "staff-question__content" });
  setSanitisedHtml(body, question.content_html);
  li.append(body);
  if (question.answer_html) {
    const answer = node("div", { className: "staff-question__answer" }, [
      node("span", { className: "msg__endorsed-label", text: question.answered_by ? fmt(t("Answered by %(name)s"), { name: displayName(question.answered_by) }) : t("Answered by staff") }),
    ]);
    const text = node("div");
    setSanitisedHtml(text, question.answer_html);
    answer.append(text);
    li.append(answer);
  } else {
    li.append(node("span", { className: "muted", text: t("Waiting for an answer") }));
  }
  if (isStaffHere() && state.room?.is_active) li.append(answerForm(question));
  return li;
}

let loads = 0; // only the latest load renders (the filter may change while one is under way)

export async function loadStaffQuestions() {
  const room = state.room;
  if (!room) return;
  const load = ++loads;
  el.staffList.setAttribute("aria-busy", "true");
  try {
    const page = await rest.listStaffQuestions(room.id, currentStatus() || null);
    if (state.room !== room || load !== loads) return;
    el.staffList.replaceChildren(...page.results.map(renderStaffQuestion));
    el.staffEmpty.hidden = page.results.length > 0;
  } catch (error) {
    report(error);
  } finally {
    if (load === loads) el.staffList.removeAttribute("aria-busy");
  }
}

/** Offer the dialog in course rooms: "Ask staff privately" to members, the queue to staff. */
export function updateStaffQuestions() {
  const room = state.room;
  const offered = Boolean(room && room.chat_type === "course" && (room.my_role || config.isStaff));
  const staff = isStaffHere();
  el.staffButton.hidden = !offered;
  el.staffButton.textContent = staff ? t("Private questions") : t("Ask staff privately");
  el.staffTitle.textContent = staff ? t("Private questions to staff") : t("Ask the staff privately");
  el.staffAskForm.hidden = staff || !room?.is_active;
}

/** A presence-socket frame: a new private question (staff, and the asker's other tabs) or
 * an answer (asker, staff). */
export function onStaffQuestionFrame(frame) {
  const room = state.rooms.get(frame.room_id);
  const name = displayName(frame.question.asker);
  const mine = frame.question.asker.id === config.user.id;
  if (frame.type === "staff_question.asked") {
    if (!mine) toast(room ? fmt(t("%(name)s asked the staff privately in %(room)s."), { name, room: room.name }) : fmt(t("%(name)s asked the staff privately."), { name }), "info");
  } else if (mine) {
    toast(room ? fmt(t("The staff answered your private question in %(room)s."), { room: room.name }) : t("The staff answered your private question."), "info");
  }
  if (el.staffDialog.open && frame.room_id === state.room?.id) loadStaffQuestions();
}

async function ask(event) {
  event.preventDefault();
  const room = state.room;
  const content = el.staffAskInput.value.trim();
  if (!room || !content) return;
  try {
    await rest.askStaff(room.id, content);
    el.staffAskInput.value = "";
    toast(t("Sent privately to the staff."), "info");
    await loadStaffQuestions();
  } catch (error) {
    report(error);
  }
}

export function bindStaffQuestions() {
  el.staffButton.addEventListener("click", () => {
    updateStaffQuestions();
    el.staffDialog.showModal();
    loadStaffQuestions();
  });
  el.staffDialog.addEventListener("change", (event) => {
    if (event.target.name === "staff-question-status") loadStaffQuestions();
  });
  el.staffAskForm.addEventListener("submit", ask);
}
