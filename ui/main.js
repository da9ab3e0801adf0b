// The window: which screen shows (wizard, counter, operator), the header and banners.
import { t, language, setLanguage } from "./i18n.js";
import { $, el, call, listen, errorText, answerPin } from "./api.js";
import { setupWizard, renderWizard } from "./wizard.js";
import { setupCounter, renderCounter, showResult, counterLanguageChanged } from "./counter.js";
import { setupOperator, renderOperator, showTab } from "./operator.js";

let last = null;
let wantOperator = false;
let readyLogged = false;

function translate() {
  document.documentElement.lang = language();
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}

// Warnings fold into one line; what they say and what to do opens on demand.
function banners(o) {
  $("error").hidden = !o.error;
  $("error").textContent = o.error ? errorText(o.error) : "";
  $("demo-banner").hidden = !o.demo;
  if (o.demo) $("demo-banner").textContent = t("demoBanner", o.demo);
  $("demo-badge").hidden = !o.demo;
  const warnings = $("warnings");
  warnings.hidden = o.warnings.length === 0;
  const shownCodes = o.warnings.map((w) => `${w.code}:${w.since}`).join(" ") + (o.operator ? " op" : "");
  if (warnings.dataset.shown !== shownCodes + language()) {
    warnings.dataset.shown = shownCodes + language();
    $("warnings-summary").textContent = o.warnings.length
      ? `⚠ ${t("warningsSummary", { n: o.warnings.length, first: t(`short.${o.warnings[0].code}`) })}`
      : "";
    $("warnings-list").replaceChildren(
      ...o.warnings.map((w) => {
        const item = el("p", { className: "warning-item", textContent: t(w.code, { since_at: w.since }) });
        // A clock that looks wrong stops purges and approvals until the operator confirms it.
        if (w.code === "clock-suspect" && o.operator) {
          const b = el("button", { type: "button", className: "small", textContent: t("clockConfirm") });
          b.addEventListener("click", () =>
            call("confirm_clock", { pin: null })
              .then(refresh)
              .catch((e) => (($("error").hidden = false), ($("error").textContent = errorText(e)))),
          );
          item.append(" ", b);
        }
        return item;
      }),
    );
  }
  $("notices").replaceChildren(...o.notices.map((n) => el("div", { className: "banner error", textContent: errorText(n) })));
}

// A counter of a venue on a server: whether the server is reached, and how many scans
// wait on this PC to be forwarded.
function syncBadge(sync) {
  const b = $("sync-badge");
  b.hidden = !sync;
  if (!sync) return;
  const waiting = sync.waiting + sync.failed;
  b.className = `badge sync ${sync.online ? (waiting ? "busy" : "ok") : "bad"}`;
  b.textContent = sync.online
    ? waiting
      ? t("syncForwarding", { n: waiting })
      : t("syncOnline")
    : t("syncOffline", { n: sync.waiting });
  b.title = sync.online ? "" : errorText({ code: sync.problem, params: { detail: sync.detail ?? "" } });
}

function render(o) {
  if (o.language !== language()) {
    setLanguage(o.language);
    translate();
    counterLanguageChanged();
  }
  last = o;
  banners(o);
  if (o.venue) $("venue").textContent = o.venue;
  syncBadge(o.sync);
  $("fingerprint").textContent = o.fingerprint ? `${t("fingerprint")} ${o.fingerprint}` : "";
  $("sound-label").textContent = o.sound ? t("soundOn") : t("soundOff");
  $("sound-toggle").setAttribute("aria-label", o.sound ? t("soundOn") : t("soundOff"));
  $("lang-de").classList.toggle("current", o.language === "de");
  $("lang-en").classList.toggle("current", o.language === "en");
  const step = !o.initialized ? (o.error ? null : "venue") : o.setup_step !== "done" ? o.setup_step : null;
  const inWizard = step !== null;
  const operator = !inWizard && o.operator && wantOperator;
  if (!o.operator) wantOperator = false;
  $("wizard").hidden = !inWizard;
  $("counter").hidden = inWizard || operator || !o.initialized;
  $("operator").hidden = !operator;
  $("operator-open").hidden = inWizard || operator || !o.initialized;
  $("counter-open").hidden = !operator;
  if (inWizard) renderWizard(step, o.venue ?? "");
  else if (o.initialized) {
    renderCounter(o);
    renderOperator(o);
    if (!readyLogged && !$("counter").hidden) {
      readyLogged = true;
      call("window_ready");
    }
  }
}

async function refresh() {
  try {
    render(await call("overview"));
  } catch (e) {
    $("error").hidden = false;
    $("error").textContent = errorText(e);
  }
}

async function setDisplay(change) {
  await call("set_display", { language: null, sound: null, ...change }).catch(() => {});
  refresh();
}

function openPinDialog() {
  $("pin-title").textContent = t("pinTitle");
  $("pin-submit").textContent = t("unlock");
  $("pin-error").textContent = "";
  $("pin-input").value = "";
  $("pin-dialog").hidden = false;
  $("pin-input").focus();
}

function setupHeader() {
  $("lang-de").addEventListener("click", () => setDisplay({ language: "de" }));
  $("lang-en").addEventListener("click", () => setDisplay({ language: "en" }));
  $("sound-toggle").addEventListener("click", () => setDisplay({ sound: !last?.sound }));
  // The operator screens always ask for the PIN, even if a session was left open.
  $("operator-open").addEventListener("click", openPinDialog);
  // Leaving the operator screens locks them in the shell: the next visit needs the PIN.
  $("counter-open").addEventListener("click", async () => {
    wantOperator = false;
    await call("lock_operator").catch(() => {});
    refresh();
  });
  $("pin-cancel").addEventListener("click", () => {
    if (!answerPin(null)) $("pin-dialog").hidden = true;
  });
  $("pin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (answerPin($("pin-input").value)) {
      $("pin-input").value = "";
      return;
    }
    try {
      await call("unlock", { pin: $("pin-input").value });
      $("pin-dialog").hidden = true;
      wantOperator = true;
      await refresh();
      showTab("areas");
    } catch (err) {
      $("pin-error").textContent = errorText(err);
    }
    $("pin-input").value = "";
  });
}

// A required field left empty: the window's own words (the browser would use the PC's
// system language), also beside the form's button.
document.addEventListener(
  "invalid",
  (e) => {
    const f = e.target;
    f.setCustomValidity(f.validity.valueMissing ? t("fieldRequired") : "");
    const line = f.closest("form")?.querySelector(".form-error");
    if (line) line.textContent = t("fieldRequired");
  },
  true,
);
document.addEventListener("input", (e) => e.target.setCustomValidity?.(""), true);

translate();
setupHeader();
setupWizard(refresh);
setupCounter(refresh);
setupOperator(refresh);
refresh();
setInterval(refresh, 2000);
listen("scan-result", (e) => {
  showResult(e.payload);
  refresh();
});
listen("scanner-state", () => refresh());
// Another counter scanned, or the server came back: the counts follow within a second.
listen("server-change", () => refresh());
