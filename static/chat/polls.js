/**
 * Polls in the message list: a `poll` message's options with live result bars,
 * voting (one option, or several when the poll allows), taking a vote back, and
 * closing. The viewer's own votes come from the voters lists, or, in an anonymous
 * poll, from the poll's own REST answers (nobody else's votes are ever shown).
 */
import { rest } from "./client.js";
import { node, report } from "./dom.js";
import { canManageRoom, canPost, me, state } from "./state.js";
import { t, tn, fmt, language } from "./i18n.js";

const asked = new Set(); // anonymous polls whose own votes were asked for this page

function myVotes(poll) {
  if (state.myVotes.has(poll.id)) return state.myVotes.get(poll.id);
  if (poll.is_anonymous) return null;
  return poll.options.filter((option) => option.voter_ids.includes(me.id)).map((option) => option.id);
}

async function loadMyVotes(poll, onChange) {
  if (asked.has(poll.id)) return;
  asked.add(poll.id);
  try {
    const answer = await rest.getPoll(poll.id);
    state.myVotes.set(poll.id, answer.my_votes || []);
    onChange(answer);
  } catch (error) {
    report(error);
  }
}

async function vote(poll, optionId, onChange) {
  const mine = myVotes(poll) || [];
  let chosen;
  if (poll.allows_multiple) {
    chosen = mine.includes(optionId) ? mine.filter((id) => id !== optionId) : [...mine, optionId];
  } else {
    chosen = mine.includes(optionId) ? [] : [optionId];
  }
  try {
    const answer = await rest.votePoll(poll.id, chosen);
    state.myVotes.set(poll.id, answer.my_votes || []);
    onChange(answer);
  } catch (error) {
    report(error);
  }
}

async function close(poll, onChange) {
  try {
    onChange(await rest.closePoll(poll.id));
  } catch (error) {
    report(error);
  }
}

/**
 * The poll box of a `poll` message. `onChange(poll)` shows a newer POLL of it
 * (the answer to a vote, or the viewer's own votes once known).
 */
export function pollFor(message, onChange) {
  const poll = message.poll;
  if (!poll || message.is_deleted) return null;
  const mine = myVotes(poll);
  if (mine === null) loadMyVotes(poll, onChange);
  const open = !poll.is_closed && canPost();
  const totalVotes = poll.options.reduce((sum, option) => sum + option.vote_count, 0);
  const list = node("ul", { className: "poll__options", attrs: { role: "list" } });
  for (const option of poll.options) {
    const chosen = Boolean(mine && mine.includes(option.id));
    const share = totalVotes ? Math.round((option.vote_count / totalVotes) * 100) : 0;
    const bar = node("span", { className: "poll__bar", attrs: { "aria-hidden": "true" } });
    bar.style.setProperty("--share", `${share}%`);
    const votes = fmt(tn("%(count)s vote", "%(count)s votes", option.vote_count), { count: option.vote_count });
    const label = `${option.text}: ${votes}${chosen ? t(", your choice") : ""}`;
    const row = node(open ? "button" : "div", {
      className: `poll__option${chosen ? " poll__option--mine" : ""}`,
      attrs: open ? { type: "button", "aria-pressed": chosen ? "true" : "false", "aria-label": label } : { "aria-label": label },
    }, [
      bar,
      node("span", { className: "poll__text", text: option.text }),
      node("span", { className: "poll__count", text: `${option.vote_count} · ${share}%` }),
    ]);
    row.dataset.optionId = String(option.id);
    if (open) row.addEventListener("click", () => vote(poll, option.id, onChange));
    list.append(node("li", {}, [row]));
  }
  const facts = [fmt(tn("%(count)s voter", "%(count)s voters", poll.voter_count), { count: poll.voter_count })];
  if (poll.allows_multiple) facts.push(t("several choices allowed"));
  if (poll.is_anonymous) facts.push(t("anonymous"));
  if (poll.is_closed) facts.push(t("closed"));
  else if (poll.closes_at) facts.push(fmt(t("closes %(when)s"), { when: new Date(poll.closes_at).toLocaleString(language) }));
  const foot = node("p", { className: "poll__facts muted", text: facts.join(" · ") });
  const box = node("div", { className: "poll", attrs: { role: "group", "aria-label": fmt(t("Poll: %(question)s"), { question: poll.question }) } }, [list, foot]);
  const mayClose = message.sender.id === me.id || canManageRoom();
  if (!poll.is_closed && mayClose && state.room?.is_active) {
    const button = node("button", { className: "link-btn", text: t("Close poll"), attrs: { type: "button" } });
    button.addEventListener("click", () => close(poll, onChange));
    foot.append(" ", button);
  }
  return box;
}
