// The counter screen: scan results, areas, tables, the chart, registration, check-out.
import { t, language } from "./i18n.js";
import { $, el, call, confirmTwice, errorText } from "./api.js";

let refresh = () => {};
let soundOn = true;
let audio = null;

function resultText(r) {
  return t(r.code, { area: r.area ?? "", table: r.table ?? "" }) ?? t(`err.${r.code}`) ?? r.message;
}

function beep(ok) {
  if (!soundOn) return;
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = ok ? 880 : 220;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + (ok ? 0.15 : 0.45));
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + (ok ? 0.15 : 0.45));
  } catch {
    // No audio device: the flash is enough.
  }
}

let flashTimer = null;
export function showResult(r) {
  const box = $("result");
  box.className = `result ${r.ok ? "ok" : "refused"}`;
  $("result-title").textContent = resultText(r);
  // The core's sentence names the field for invalid details; otherwise it is shown only
  // where the window has no words of its own.
  $("result-detail").textContent = r.code === "invalid-contact" || !t(r.code) ? r.message : "";
  box.dataset.code = r.code;
  const flash = $("flash");
  flash.className = `flash show ${r.ok ? "ok" : "refused"}`;
  $("flash-text").textContent = resultText(r);
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => (flash.className = "flash"), r.ok ? 700 : 1500);
  beep(r.ok);
}

function renderChart(arrivals) {
  const max = Math.max(1, ...arrivals.map(([, n]) => n));
  $("chart").replaceChildren(
    ...arrivals.map(([start, n]) => {
      const hour = new Date(start * 1000).getHours();
      const label = t("chartLabel", { n, hour });
      return el(
        "div",
        { className: "bar", title: label, ariaLabel: label },
        el("span", { className: "fill", style: `height:${Math.round((n / max) * 100)}%` }),
        el("span", { className: "n", textContent: n ? String(n) : "" }),
        el("span", { className: "h", textContent: String(hour) }),
      );
    }),
  );
}

// A destructive counter action needs two taps (`confirmTwice`); the wedge field gets the
// focus back afterwards.
function twoTap(button, action) {
  confirmTwice(button, () => t("closeAllConfirm"), async () => {
    await action().catch((e) => showResult({ ok: false, code: e.code, message: e.message }));
    refresh();
    $("wedge").focus();
  });
}

export function renderCounter(o) {
  soundOn = o.sound;
  $("present").textContent = String(o.present);
  $("current-area").textContent = o.current_area_name ?? "–";
  $("areas")
    .querySelector("tbody")
    .replaceChildren(
      ...o.areas.map((a) => {
        const pick = el("button", { type: "button", textContent: `${a.location} / ${a.name}` });
        if (a.id === o.current_area) pick.className = "current";
        pick.addEventListener("click", async () => {
          await call("select_area", { area: a.id });
          refresh();
          $("wedge").focus();
        });
        const close = el("button", { type: "button", className: "small danger", textContent: t("closeArea") });
        twoTap(close, () => call("close_all", { area: a.id }));
        return el(
          "tr",
          {},
          el("td", {}, pick),
          el("td", { className: "num", textContent: String(a.present) }),
          el("td", {}, a.present ? close : null),
        );
      }),
    );
  const waiting = o.areas.find((a) => a.id === o.waiting_for_table);
  $("table-tap").hidden = !waiting || waiting.tables.length === 0;
  if (waiting) {
    $("table-buttons").replaceChildren(
      ...waiting.tables.map((n) => {
        const b = el("button", { type: "button", className: "chip", textContent: String(n) });
        b.dataset.table = n;
        b.addEventListener("click", async () => {
          showResult(await call("tap_table", { table: n }));
          refresh();
        });
        return b;
      }),
    );
  }
  renderChart(o.arrivals);
  const devices = Object.entries(o.devices);
  $("devices").replaceChildren(
    ...(devices.length
      ? devices.map(([name, s]) => {
          const label = s.state === "connected" ? t("connected") : s.state === "waiting" ? t("waiting") : t("deviceError");
          const detail = s.reason ? ` – ${s.reason}${s.advice ? ` (${s.advice})` : ""}` : "";
          return el("li", { className: `device ${s.state}`, textContent: `${name}: ${label}${detail}` });
        })
      : [el("li", { textContent: t("noScanners") })]),
  );
  $("recent").replaceChildren(
    ...o.recent.map((r) =>
      el("li", {
        className: r.ok ? "ok" : "refused",
        textContent: `${new Date(r.at * 1000).toLocaleTimeString(language())} ${resultText(r)}`,
      }),
    ),
  );
  $("demo-scanner").hidden = !o.demo;
  if ($("checkout-one").open) loadOpenGuests();
}

async function loadOpenGuests() {
  const list = await call("open_checkins", { area: null }).catch(() => []);
  $("open-guests").replaceChildren(
    ...(list.length
      ? list.map((g) => {
          const b = el("button", { type: "button", className: "small", textContent: t("checkOut") });
          b.addEventListener("click", async () => {
            await call("check_out", { record: g.record }).catch(() => {});
            refresh();
          });
          const time = new Date(g.checked_in_at * 1000).toLocaleTimeString(language(), { timeStyle: "short" });
          return el("li", {}, el("span", { textContent: t("checkedInSince", { area: g.area, time }) }), b);
        })
      : [el("li", { textContent: t("noOpenGuests") })]),
  );
}

// The focusable controls of the window in document order, for a Tab the wedge field
// passes on itself.
function moveFocus(from, back) {
  const all = [...document.querySelectorAll("button, input, select, textarea, summary, a[href]")].filter(
    (x) => !x.disabled && x.offsetParent !== null && x.tabIndex >= 0,
  );
  const i = all.indexOf(from);
  const next = all[(i + (back ? all.length - 1 : 1)) % all.length];
  next?.focus();
}

export function setupCounter(refreshAll) {
  refresh = refreshAll;
  // The keyboard-wedge field keeps focus and measures the gaps between keystrokes, so the
  // core can tell a scanner's burst from typing.
  const wedge = $("wedge");
  let stamps = [];
  // A scanner types a code as a burst of keys. A code may hold Tab or CR characters, and a
  // scanner may end a code with Tab: they arrive as Tab and Enter keys and never move the
  // focus or press a button. A Tab in the middle of a burst, or with a code in the field,
  // ends the scan like Enter; only a Tab into an empty field, with no key following within
  // a burst's gap, is a person moving on.
  let pendingTab = null;
  let tabbedAt = -1e9;
  let lastKey = -1e9;
  const BURST_GAP_MS = 120;
  wedge.addEventListener("keydown", async (e) => {
    const inBurst = performance.now() - lastKey < BURST_GAP_MS;
    lastKey = performance.now();
    if (pendingTab) {
      clearTimeout(pendingTab);
      pendingTab = null;
    }
    if (e.key === "Tab" && !inBurst && !wedge.value) {
      e.preventDefault();
      const back = e.shiftKey;
      pendingTab = setTimeout(() => {
        pendingTab = null;
        tabbedAt = performance.now();
        moveFocus(wedge, back);
      }, BURST_GAP_MS);
      return;
    }
    if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      const text = wedge.value;
      const gaps = stamps.slice(1).map((s, i) => Math.round(s - stamps[i]));
      wedge.value = "";
      stamps = [];
      if (text.trim()) {
        showResult(await call("wedge_scan", { text, gaps }));
        refresh();
      }
    } else if (e.key.length === 1) {
      stamps.push(performance.now());
    }
  });
  // The wedge field takes the focus back unless staff are using a form or a control, or
  // moved with the Tab key in the last ten seconds (keyboard-only use of the buttons).
  document.addEventListener(
    "keydown",
    (e) => {
      if (e.target === wedge) return;
      // Keys right after a scanner's burst belong to it: they press nothing elsewhere.
      if (performance.now() - lastKey < BURST_GAP_MS && ["Enter", " ", "Tab"].includes(e.key)) {
        e.preventDefault();
        e.stopPropagation();
        wedge.focus();
        return;
      }
      if (e.key === "Tab") tabbedAt = performance.now();
    },
    true,
  );
  const busy = () =>
    document.activeElement?.closest?.("form, details, select, .modal") ||
    $("counter").hidden ||
    performance.now() - tabbedAt < 10000;
  document.addEventListener("click", (e) => {
    if (!$("counter").hidden && !e.target.closest("button, form, details, a, select")) wedge.focus();
  });
  setInterval(() => {
    if (document.activeElement !== wedge && !busy()) wedge.focus();
  }, 1000);

  $("register").addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (id) => $(id).value;
    const contact = {
      name: v("reg-name"),
      street: v("reg-street"),
      postcode: v("reg-postcode"),
      city: v("reg-city"),
      phone: v("reg-phone"),
      email: v("reg-email"),
    };
    const r = await call("register_guest", { contact });
    showResult(r.result);
    $("reg-fob-result").replaceChildren();
    if (r.result.ok && $("reg-fob").checked) {
      try {
        const p = await call("print_document", { document: { kind: "registered-fob" }, out: null });
        const open = el("button", { type: "button", className: "small", textContent: t("openPdf") });
        open.addEventListener("click", () => call("open_document", { path: p.path }).catch(() => {}));
        $("reg-fob-result").append(t("fobSaved", { path: p.path }), " ", open);
      } catch (err) {
        $("reg-fob-result").textContent = errorText(err);
      }
    }
    if (r.result.ok) $("register").reset();
    refresh();
  });
  twoTap($("close-all"), () => call("close_all", { area: null, pin: null }));
  $("checkout-one").addEventListener("toggle", () => {
    if ($("checkout-one").open) loadOpenGuests();
  });
  for (const b of document.querySelectorAll("[data-demo]")) {
    b.addEventListener("click", async () => {
      try {
        showResult(await call("demo_scan", { kind: b.dataset.demo }));
      } catch (err) {
        showResult({ ok: false, code: err.code, message: err.message });
      }
      refresh();
    });
  }
}
