/**
 * The questions view of the open room: its questions, open or answered, each with
 * its endorsed answer; and whether the composer offers "Ask as a question".
 */
import { rest } from "./client.js";
import { displayName, el, node, report, snippet } from "./dom.js";
import { authorLabel } from "./messages.js";
import { state, takesQuestions } from "./state.js";
import { t } from "./i18n.js";

function currentStatus() {
  const checked = el.questionsDialog.querySelector('input[name="question-status"]:checked');
  return checked ? checked.value : "open";
}

function jumpTo(messageId) {
  const target = document.getElementById(`message-${messageId}`);
  if (!target) return;
  el.questionsDialog.close();
  target.scrollIntoView({ block: "center" });
  target.classList.add("msg--flash");
  setTimeout(() => target.classList.remove("msg--flash"), 1200);
}

function renderQuestion({ question, answer }) {
  const li = node("li", { className: "question" });
  li.dataset.id = String(question.id);
  const head = node("button", { className: "question__ask", attrs: { type: "button" } }, [
    node("strong", { text: authorLabel(question) }),
    node("span", { text: snippet(question) }),
  ]);
  head.addEventListener("click", () => jumpTo(question.id));
  li.append(head);
  if (answer) {
    const reply = node("button", { className: "question__answer", attrs: { type: "button" } }, [
      node("span", { className: "msg__endorsed-label", text: t("✓ Endorsed answer") }),
      node("strong", { text: displayName(answer.sender) }),
      node("span", { text: snippet(answer) }),
    ]);
    reply.addEventListener("click", () => jumpTo(answer.id));
    li.append(reply);
  } else {
    li.append(node("span", { className: "question__open muted", text: t("No endorsed answer yet") }));
  }
  return li;
}

export async function loadQuestions() {
  const room = state.room;
  if (!room) return;
  el.questionsList.setAttribute("aria-busy", "true");
  try {
    const page = await rest.listQuestions(room.id, currentStatus() || null);
    if (state.room !== room) return;
    el.questionsList.replaceChildren(...page.results.map(renderQuestion));
    el.questionsEmpty.hidden = page.results.length > 0;
  } catch (error) {
    report(error);
  } finally {
    el.questionsList.removeAttribute("aria-busy");
  }
}

/** Show or hide the questions view and the composer's "Ask as a question" for the open room. */
export function updateQuestionOption() {
  const offered = takesQuestions();
  el.questionsButton.hidden = !offered;
  el.questionOption.hidden = !offered || el.input.disabled;
  if (!offered) el.questionInput.checked = false;
}

export function bindQuestions() {
  el.questionsButton.addEventListener("click", () => {
    el.questionsDialog.showModal();
    loadQuestions();
  });
  el.questionsDialog.addEventListener("change", (event) => {
    if (event.target.name === "question-status") loadQuestions();
  });
}
