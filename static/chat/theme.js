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
  const LABELS = { system: "Theme: system", dark: "Theme: dark", light: "Theme: light" };
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
      button.textContent = LABELS[chosen];
      button.title = `Colour theme: ${chosen === "system" ? `as the system (${theme} now)` : chosen}. Click to change.`;
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
