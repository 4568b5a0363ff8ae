// feedbot's site: the theme toggle and the offline search. No libraries, no network: the search
// index is a set of script files beside the pages (search/index.js lists them), which load from
// file:// as well as from a server. The controls are added here, so a reader without JavaScript
// never sees a box that does nothing.
(function () {
  "use strict";
  var html = document.documentElement;
  var root = html.getAttribute("data-root") || "";
  var tools = document.getElementById("site-tools");
  var main = document.getElementById("main");
  if (!tools || !main) return;

  // -- theme ------------------------------------------------------------------------------
  var darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  function currentTheme() {
    var chosen = html.getAttribute("data-theme");
    if (chosen === "dark" || chosen === "light") return chosen;
    return darkQuery && darkQuery.matches ? "dark" : "light";
  }
  var toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "theme-toggle";
  toggle.textContent = "Dark theme";
  function showTheme() {
    toggle.setAttribute("aria-pressed", currentTheme() === "dark" ? "true" : "false");
  }
  toggle.addEventListener("click", function () {
    var next = currentTheme() === "dark" ? "light" : "dark";
    html.setAttribute("data-theme", next);
    try { window.localStorage.setItem("feedbot-theme", next); } catch (e) { /* not kept */ }
    showTheme();
  });
  if (darkQuery && darkQuery.addEventListener) darkQuery.addEventListener("change", showTheme);
  showTheme();

  // -- search -----------------------------------------------------------------------------
  var box = document.createElement("div");
  box.className = "search-box";
  box.setAttribute("role", "search");
  var label = document.createElement("label");
  label.htmlFor = "site-search";
  label.textContent = "Search";
  var input = document.createElement("input");
  input.type = "search";
  input.id = "site-search";
  input.autocomplete = "off";
  input.spellcheck = false;
  input.placeholder = "titles, sources, topics…";
  input.setAttribute("aria-controls", "search-results");
  box.appendChild(label);
  box.appendChild(input);
  tools.appendChild(box);
  tools.appendChild(toggle);

  var results = document.createElement("section");
  results.id = "search-results";
  results.className = "search-results";
  results.setAttribute("aria-label", "Search results");
  results.hidden = true;
  var status = document.createElement("p");
  status.className = "search-status";
  status.setAttribute("role", "status");
  var list = document.createElement("ol");
  results.appendChild(status);
  results.appendChild(list);
  main.insertBefore(results, main.firstChild);

  var LIMIT = 50;
  var entries = null; // [{item, text, title}] once every month is loaded
  var loading = null; // callbacks waiting for the index

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function loadScript(src, done) {
    var script = document.createElement("script");
    script.src = src;
    script.onload = function () { done(true); };
    script.onerror = function () { done(false); };
    document.head.appendChild(script);
  }

  function withIndex(ready) {
    if (entries) { ready(true); return; }
    if (loading) { loading.push(ready); return; }
    loading = [ready];
    function finish(ok) {
      var waiting = loading;
      loading = null;
      waiting.forEach(function (callback) { callback(ok); });
    }
    loadScript(root + "search/index.js", function (ok) {
      var months = window.FEEDBOT_SEARCH_SHARDS;
      if (!ok || !months) { finish(false); return; }
      var pending = months.length;
      var failed = false;
      if (!pending) { entries = []; finish(true); return; }
      months.forEach(function (month) {
        loadScript(root + "search/" + month + ".js", function (loaded) {
          failed = failed || !loaded;
          pending -= 1;
          if (pending) return;
          if (failed) { finish(false); return; }
          var data = window.FEEDBOT_SEARCH_DATA || {};
          entries = [];
          months.forEach(function (name) {
            (data[name] || []).forEach(function (item) {
              entries.push({
                item: item,
                title: fold(item[0]),
                text: fold(item[0] + " " + item[4] + " " + item[5] + " " + item[6])
              });
            });
          });
          finish(true);
        });
      });
    });
  }

  function search(query) {
    var terms = fold(query).split(/\s+/).filter(Boolean);
    var found = [];
    entries.forEach(function (entry, position) {
      var score = 0;
      for (var i = 0; i < terms.length; i++) {
        if (entry.text.indexOf(terms[i]) < 0) return;
        score += entry.title.indexOf(terms[i]) >= 0 ? 3 : 1;
      }
      found.push({ entry: entry, score: score, position: position });
    });
    found.sort(function (a, b) { return b.score - a.score || a.position - b.position; });
    return found;
  }

  function show(query) {
    var found = search(query);
    list.textContent = "";
    found.slice(0, LIMIT).forEach(function (hit) {
      var item = hit.entry.item;
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = item[1] || root + item[2];
      if (item[1]) link.rel = "noopener noreferrer";
      link.textContent = item[0];
      li.appendChild(link);
      var meta = document.createElement("span");
      meta.className = "meta";
      var day = document.createElement("a");
      day.href = root + item[2];
      day.textContent = item[3];
      meta.appendChild(day);
      var rest = [item[4], item[5]].filter(Boolean).join(" · ");
      if (rest) meta.appendChild(document.createTextNode(" · " + rest));
      li.appendChild(meta);
      list.appendChild(li);
    });
    var count = found.length;
    status.textContent = count === 0 ? "Nothing matches “" + query + "”."
      : count + (count === 1 ? " item matches" : " items match") + " “" + query + "”"
        + (count > LIMIT ? "; the best " + LIMIT + " are shown." : ".");
    results.hidden = false;
  }

  var timer = null;
  function update() {
    var query = input.value.trim();
    if (query.length < 2) { results.hidden = true; list.textContent = ""; return; }
    withIndex(function (ok) {
      if (!ok) {
        status.textContent = "The search index could not be loaded.";
        list.textContent = "";
        results.hidden = false;
        return;
      }
      if (input.value.trim() === query) show(query);
    });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(update, 120);
  });
  input.addEventListener("focus", function () { withIndex(function () {}); }, { once: true });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { input.value = ""; update(); }
  });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
    }
  });
})();
