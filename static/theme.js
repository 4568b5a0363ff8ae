// Runs before the page is drawn: applies the theme the reader chose with the toggle (site.js),
// so a dark page never flashes light. Without a choice the system's preference applies (CSS).
(function () {
  "use strict";
  try {
    var chosen = window.localStorage.getItem("feedbot-theme");
    if (chosen === "dark" || chosen === "light") {
      document.documentElement.setAttribute("data-theme", chosen);
    }
  } catch (e) {
    // Storage may be disabled (private modes, file:// in some browsers): follow the system.
  }
})();
