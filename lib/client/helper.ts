/**
 * The browser helper served at `<assetsPath>/client.js`. Plain ES5-compatible JavaScript, no
 * build step, no dependencies. It opens the login in a popup and resolves when the complete page
 * reports back through `postMessage` — accepted only from this page's own origin (checklist 18) —
 * or through a same-origin BroadcastChannel when COOP severed the opener, or, once the popup
 * looks closed, when the status endpoint says signed in with that provider (checklist 19).
 */
export const BROWSER_HELPER = String.raw`(function () {
  "use strict";
  var script = document.currentScript;
  var base = (script && script.getAttribute("data-base")) || "";
  var loginPath = (script && script.getAttribute("data-login-path")) || "/login";
  var assetsPath = script && script.src ? new URL(script.src, location.href).pathname.replace(/\/client\.js$/, "") : "/flet-auth";

  function status() {
    return fetch(assetsPath + "/status", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); });
  }

  function popupLogin(provider, options) {
    options = options || {};
    var params = new URLSearchParams({ popup: "1" });
    if (options.returnTo) params.set("returnTo", options.returnTo);
    if (options.remember) params.set("remember", "1");
    var url = base + loginPath + "/" + encodeURIComponent(provider) + "?" + params.toString();
    var width = options.width || 520, height = options.height || 680;
    var left = window.screenX + Math.max(0, (window.outerWidth - width) / 2);
    var top = window.screenY + Math.max(0, (window.outerHeight - height) / 2);
    var popup = window.open(url, "flet_oauth_signin",
      "popup=yes,width=" + width + ",height=" + height + ",left=" + left + ",top=" + top);
    if (!popup) return Promise.reject(new Error("The sign-in popup was blocked"));
    return new Promise(function (resolve, reject) {
      var done = false;
      var channel = null;
      var deadline = 0;
      function finish(result) {
        if (done) return;
        done = true;
        window.removeEventListener("message", onMessage);
        if (channel) channel.close();
        clearInterval(timer);
        if (result.ok) resolve(result); else reject(Object.assign(new Error(result.error || "sign-in failed"), result));
      }
      function onSignal(data) {
        if (!data || data.type !== "flet-auth:login") return;
        finish({ ok: !!data.ok, provider: String(data.provider || ""), error: String(data.error || "") });
      }
      function onMessage(event) {
        if (event.origin !== location.origin) return;
        onSignal(event.data);
      }
      window.addEventListener("message", onMessage);
      // COOP on the provider's pages severs window.opener (and makes popup.closed read true
      // while the user is still signing in); the complete page also posts on this same-origin channel.
      if (typeof BroadcastChannel === "function") {
        channel = new BroadcastChannel("flet-auth");
        channel.onmessage = function (event) { onSignal(event.data); };
      }
      var polling = false;
      var timer = setInterval(function () {
        if (done || !popup.closed || polling) return;
        // Closed, or only looking closed (COOP): ask the server, and keep asking for a while.
        if (!deadline) deadline = Date.now() + (options.closedTimeoutMs || 120000);
        polling = true;
        status().then(function (s) {
          polling = false;
          if (s.signedIn && s.providers && s.providers.indexOf(provider) !== -1) finish({ ok: true, provider: provider, error: "" });
          else if (Date.now() > deadline) finish({ ok: false, provider: provider, error: "popup_closed" });
        }, function () {
          polling = false;
          if (Date.now() > deadline) finish({ ok: false, provider: provider, error: "popup_closed" });
        });
      }, 1000);
    });
  }

  window.fletAuth = { popupLogin: popupLogin, status: status };
  document.addEventListener("click", function (event) {
    var el = event.target && event.target.closest ? event.target.closest("[data-flet-auth-popup]") : null;
    if (!el) return;
    event.preventDefault();
    popupLogin(el.getAttribute("data-flet-auth-popup"), { remember: el.hasAttribute("data-remember") })
      .then(function (r) { el.dispatchEvent(new CustomEvent("flet-auth:login", { bubbles: true, detail: r })); },
            function (e) { el.dispatchEvent(new CustomEvent("flet-auth:login", { bubbles: true, detail: { ok: false, error: e.error || e.message } })); });
  });
})();
`;
