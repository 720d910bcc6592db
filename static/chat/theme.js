/**
 * The colour theme, set before the page is first drawn (a classic script in <head>,
 * not a module, which would run only after the first paint).
 *
 * The viewer's choice is "system" (follow prefers-color-scheme, live), "dark" or
 * "light", remembered in localStorage; <html data-theme> holds the theme in force,
 * which chat.css reads. The #theme-toggle button, on pages that have one, cycles the
 * choice.
 */
(() => {
  const KEY = "academia.theme";
  const CHOICES = ["system", "dark", "light"];
  // Django's JavaScript catalogue, when the page loads one (after this script: so
  // looked up when a label is set, never at load); English without it.
  const t = (message) => (typeof globalThis.gettext === "function" ? globalThis.gettext(message) : message);
  const fmt = (format, values) => format.replace(/%\((\w+)\)s/g, (match, name) => values[name] ?? match);
  const LABELS = { system: () => t("Theme: system"), dark: () => t("Theme: dark"), light: () => t("Theme: light") };
  const THEMES = { dark: () => t("dark"), light: () => t("light") };
  const media = window.matchMedia("(prefers-color-scheme: dark)");

  function choice() {
    try {
      const stored = window.localStorage.getItem(KEY);
      return CHOICES.includes(stored) ? stored : "system";
    } catch {
      return "system";
    }
  }

  function apply() {
    const chosen = choice();
    const theme = chosen === "system" ? (media.matches ? "dark" : "light") : chosen;
    document.documentElement.dataset.theme = theme;
    const button = document.getElementById("theme-toggle");
    if (button) {
      button.textContent = LABELS[chosen]();
      button.title = chosen === "system"
        ? fmt(t("Colour theme: as the system (%(theme)s now). Click to change."), { theme: THEMES[theme]() })
        : fmt(t("Colour theme: %(theme)s. Click to change."), { theme: THEMES[chosen]() });
    }
  }

  function cycle() {
    const next = CHOICES[(CHOICES.indexOf(choice()) + 1) % CHOICES.length];
    try {
      window.localStorage.setItem(KEY, next);
    } catch {
      // Storage refused (private window): the theme changes for this page only.
      document.documentElement.dataset.theme = next === "system" ? (media.matches ? "dark" : "light") : next;
      return;
    }
    apply();
  }

  apply();
  media.addEventListener("change", apply);
  window.addEventListener("storage", (event) => {
    if (event.key === KEY) apply();
  });
  document.addEventListener("DOMContentLoaded", () => {
    apply();
    const button = document.getElementById("theme-toggle");
    if (button) button.addEventListener("click", cycle);
  });
})();
