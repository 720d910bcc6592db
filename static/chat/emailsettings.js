/**
 * The viewer's offline email notifications: the "Email" choice under their name
 * (never, batched, immediately), read and saved over REST
 * (`GET|PUT /chat/email-notifications/`, chat.services.email_notifications).
 */
import { rest } from "./client.js";
import { $, report, toast } from "./dom.js";
import { t } from "./i18n.js";

const NO_ADDRESS = () => t("Your account has no email address: no email is sent.");
const TITLE = () => t("Email about mentions and answers you missed while offline");

function show(select, choice) {
  select.value = choice.email_notifications;
  select.dataset.saved = choice.email_notifications;
  select.title = choice.has_email ? TITLE() : NO_ADDRESS();
}

async function save(select) {
  const wanted = select.value;
  select.disabled = true;
  try {
    const choice = await rest.setEmailNotifications(wanted);
    show(select, choice);
    toast(choice.has_email ? t("Email notifications saved.") : NO_ADDRESS(), "info");
  } catch (error) {
    select.value = select.dataset.saved || "batched";
    report(error);
  } finally {
    select.disabled = false;
  }
}

/** Load the choice and show the control (it stays hidden if the page has none or loading fails). */
export async function bindEmailSettings() {
  const select = $("email-notifications");
  if (!select) return;
  show(select, await rest.emailNotifications());
  select.hidden = false;
  select.addEventListener("change", () => save(select));
}
