// Keeps the tally live: polls /api/count about every 10 s (every minute when the
// tab is hidden) and announces changes through the role="status" region.
(function () {
  "use strict";
  var tally = document.querySelector("[data-count-url]");
  if (!tally || !window.fetch) { return; }
  var url = tally.getAttribute("data-count-url");
  var countEl = tally.querySelector("[data-count]");
  var progress = tally.querySelector("[data-progress]");
  var announce = tally.querySelector("[data-announce]");
  var goalEl = tally.querySelector(".goal");
  var language = document.documentElement.lang || "en";
  var format = new Intl.NumberFormat(language);
  var plural = new Intl.PluralRules(language);
  var VISIBLE_MS = 10000, HIDDEN_MS = 60000;
  var shown = Number(progress.getAttribute("value"));
  var shownGoal = Number(progress.getAttribute("max"));
  var etag = null, timer = null;
  // A kind's other figures, each in an element naming its field: a phrase with singular and
  // plural forms (data-count-part: a letter campaign's letters sent), or a bare number
  // (data-part: an open letter's organizations and individuals, in the widget).
  var parts = document.querySelectorAll("[data-count-part], [data-part]");

  function showParts(data) {
    Array.prototype.forEach.call(parts, function (element) {
      var value = data[element.getAttribute("data-count-part") || element.getAttribute("data-part")];
      if (typeof value !== "number") { return; }
      var phrase = element.getAttribute(plural.select(value) === "one" ? "data-one" : "data-other");
      element.textContent = phrase ? phrase.replace("{count}", format.format(value)) : format.format(value);
    });
  }

  function show(data) {
    showParts(data);
    if (data.count === shown && data.goal === shownGoal) { return; }
    countEl.textContent = format.format(data.count);
    progress.max = data.goal;
    progress.value = Math.min(data.count, data.goal);
    progress.textContent = Math.floor(100 * data.count / data.goal) + "%";
    if (data.goal !== shownGoal && goalEl) {
      goalEl.textContent = goalEl.textContent.replace(format.format(shownGoal), format.format(data.goal));
    }
    var form = plural.select(data.count) === "one" ? "data-one" : "data-other";
    announce.textContent = announce.getAttribute(form)
      .replace("{count}", format.format(data.count))
      .replace("{goal}", format.format(data.goal));
    shown = data.count;
    shownGoal = data.goal;
  }

  function schedule() {
    clearTimeout(timer);
    // A little jitter keeps thousands of open tabs from polling in lock-step.
    var base = document.hidden ? HIDDEN_MS : VISIBLE_MS;
    timer = setTimeout(poll, base * (0.9 + Math.random() * 0.2));
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(url, { headers: headers, credentials: "omit" })
      .then(function (response) {
        if (response.status === 200) {
          etag = response.headers.get("ETag");
          return response.json().then(show);
        }
      })
      .catch(function () { /* offline for a moment: try again next round */ })
      .then(schedule);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { poll(); } else { schedule(); }
  });
  schedule();
})();
