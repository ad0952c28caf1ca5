// amity's dashboard, live: the page you are on follows your node's event stream.
//
// Every page works without this file (a reload shows the same). When the node says something
// changed (a message, a grant revoked or expired, a deletion receipt, an offer), this fetches
// the same page again and swaps in its <main>, keeping the notice your last action left and
// your place (the focused link or button). It never swaps under your hands: while you are
// typing or have changed a field of a form on the page, it only says that there is news.
// It stops when you submit a form (the page is about to change anyway).
//
// Why not htmx: this is the one thing the dashboard needs from script, and 90 plain lines are
// easier to read and to audit than a vendored library of 14 000.
"use strict";
(function () {
  const main = document.getElementById("main");
  const said = document.getElementById("live");
  if (!main || !main.hasAttribute("data-live") || !("EventSource" in window)) return;
  const GAP_MS = 1000; // at most one refresh a second, however busy the node is
  let last = 0, timer = null, busy = false, stopped = false;

  function say(text) { if (said) said.textContent = text; }

  function changedByHer() {
    const active = document.activeElement;
    if (active && main.contains(active) && active.matches("input, textarea, select")) return true;
    for (const field of main.querySelectorAll("input, textarea, select")) {
      if (field.matches("[type=hidden]")) continue;
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) return true;
      } else if (field.tagName === "SELECT") {
        if (field.selectedIndex !== initialIndex(field)) return true;
      } else if (field.value !== field.defaultValue) return true;
    }
    return false;
  }

  // A single select with no option marked selected shows its first one: that is no change.
  function initialIndex(select) {
    for (const option of select.options) if (option.defaultSelected) return option.index;
    return select.options.length && !select.multiple ? 0 : -1;
  }

  function placeOf(element) {
    if (!element || !main.contains(element)) return null;
    return element.id ? { id: element.id } : { tag: element.tagName, text: element.textContent };
  }

  function findPlace(place) {
    if (!place) return null;
    if (place.id) return document.getElementById(place.id);
    for (const element of main.querySelectorAll(place.tag)) {
      if (element.textContent === place.text) return element;
    }
    return null;
  }

  async function refresh() {
    timer = null;
    if (stopped) return;
    if (busy) { schedule(); return; }
    if (changedByHer()) { say("Something changed. Reload the page to see it."); return; }
    busy = true;
    last = Date.now();
    try {
      const reply = await fetch(location.href, { credentials: "same-origin" });
      if (!reply.ok || stopped) return;
      const fresh = new DOMParser().parseFromString(await reply.text(), "text/html").getElementById("main");
      if (!fresh || !fresh.hasAttribute("data-live") || stopped || changedByHer()) return;
      const notice = main.querySelector(".notice");
      const place = placeOf(document.activeElement);
      main.replaceChildren(...fresh.childNodes);
      main.dataset.live = fresh.dataset.live;
      if (notice && !main.querySelector(".notice")) main.insertBefore(notice, main.firstChild);
      const again = findPlace(place);
      if (again) again.focus();
      say("Updated at " + new Date().toLocaleTimeString() + ".");
    } catch (error) {
      // The node is restarting or the network is down: the next change tries again.
    } finally {
      busy = false;
    }
  }

  function schedule() {
    if (timer === null && !stopped) timer = setTimeout(refresh, Math.max(100, last + GAP_MS - Date.now()));
  }

  // From the event this page was made at: what happened since is told at once.
  const stream = new EventSource("/ui/events?since=" + encodeURIComponent(main.dataset.live));
  stream.addEventListener("change", schedule);
  document.addEventListener("submit", function () { stopped = true; stream.close(); });
  window.addEventListener("pagehide", function () { stopped = true; stream.close(); });
})();
