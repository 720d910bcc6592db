/**
 * The page's words in the active language: Django's JavaScript catalogue
 * (`/jsi18n/`, a classic script that page.html loads before the modules) defines
 * `gettext`, `ngettext` and `interpolate` on the window. Without it (it failed
 * to load) every string stays English and the page still works.
 *
 * `t` and `tn` are collected by `manage.py makemessages -d djangojs` (see
 * chat/management/commands/makemessages.py): give them string literals only.
 */

/** The active language (the page's `<html lang>`), for Intl formatting. */
export const language = globalThis.document?.documentElement.lang || "en";

/** `message` translated. */
export function t(message) {
  return typeof globalThis.gettext === "function" ? globalThis.gettext(message) : message;
}

/** The singular or plural form for `count`, translated (then `fmt` it for the number). */
export function tn(singular, plural, count) {
  if (typeof globalThis.ngettext === "function") return globalThis.ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

/** `format` with each `%(name)s` replaced by `values[name]`. */
export function fmt(format, values) {
  return format.replace(/%\((\w+)\)s/g, (match, name) => (name in values ? String(values[name]) : match));
}
