// The counter screen: scan results, areas, tables, registration, check-out, the day.
import { t, time, language } from "./i18n.js";
import { $, el, call, confirmTwice, errorText } from "./api.js";

let refresh = () => {};
let soundOn = true;
let audio = null;
let oneLocation = true;

// Each kind of result has its own colour, sign, word and tone, so that staff who glance
// (or cannot tell red from green) still know what happened.
const KINDS = {
  "checked-in": { kind: "in", icon: "✓", tones: [660, 880] },
  "checked-out": { kind: "out", icon: "⇥", tones: [880, 587] },
  moved: { kind: "in", icon: "⇄", tones: [660, 880] },
  "double-read": { kind: "info", icon: "≡", tones: [740] },
  "area-selected": { kind: "info", icon: "⌂", tones: [740] },
  "table-assigned": { kind: "info", icon: "#", tones: [740, 740] },
};
const REFUSED = { kind: "refused", icon: "✗", tones: [220] };
const kindOf = (r) => (r.ok ? (KINDS[r.code] ?? { kind: "info", icon: "•", tones: [740] }) : REFUSED);

// How long a result stays before the counter shows "ready" again.
const SHOW_OK_MS = 6000;
const SHOW_REFUSED_MS = 12000;

export function resultText(r) {
  const params = { ...(r.params ?? {}), area: r.area ?? r.params?.area ?? "", table: r.table ?? r.params?.table ?? "" };
  if (!r.ok) return errorText({ code: r.code, params, message: r.message });
  return t(r.code, params) ?? r.message;
}

function beep(k) {
  if (!soundOn) return;
  try {
    audio ??= new AudioContext();
    const refused = k.kind === "refused";
    let at = audio.currentTime;
    for (const f of k.tones) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = refused ? "square" : "sine";
      osc.frequency.value = f;
      const len = refused ? 0.45 : 0.12;
      gain.gain.setValueAtTime(refused ? 0.12 : 0.2, at);
      gain.gain.exponentialRampToValueAtTime(0.001, at + len);
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + len);
      at += len + 0.04;
    }
  } catch {
    // No audio device: the flash is enough.
  }
}

let flashTimer = null;
let idleTimer = null;

function showIdle() {
  const box = $("result");
  box.className = "result idle";
  delete box.dataset.code;
  $("result-icon").textContent = "";
  $("result-title").textContent = t("ready");
  $("result-detail").textContent = "";
  $("result-time").textContent = "";
}

export function showResult(r) {
  const k = kindOf(r);
  const box = $("result");
  box.className = `result ${r.ok ? "ok" : "refused"} ${k.kind}`;
  box.dataset.code = r.code;
  $("result-icon").textContent = k.icon;
  $("result-title").textContent = resultText(r);
  box.classList.toggle("long", resultText(r).length > 48);
  $("result-detail").textContent = r.ok ? "" : t(`hint.${r.code}`) ?? "";
  $("result-time").textContent = time(r.at ?? Date.now() / 1000);
  if (!$("counter").hidden) {
    const flash = $("flash");
    flash.className = `flash show ${k.kind}`;
    $("flash-text").textContent = `${k.icon} ${resultText(r)}`;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => (flash.className = "flash"), r.ok ? 700 : 1500);
  }
  clearTimeout(idleTimer);
  idleTimer = setTimeout(showIdle, r.ok ? SHOW_OK_MS : SHOW_REFUSED_MS);
  beep(k);
}

function renderChart(arrivals) {
  const max = Math.max(1, ...arrivals.map(([, n]) => n));
  const total = arrivals.reduce((sum, [, n]) => sum + n, 0);
  $("chart").setAttribute("aria-label", t("arrivalsTotal", { n: total }));
  $("chart").replaceChildren(
    ...arrivals.map(([start, n]) => {
      const hour = new Date(start * 1000).getHours();
      const label = t("chartLabel", { n, hour });
      return el(
        "div",
        { className: "bar", title: label },
        el("span", { className: "fill", style: `height:${Math.round((n / max) * 100)}%` }),
        el("span", { className: "n", textContent: n ? String(n) : "" }),
        el("span", { className: "h", textContent: String(hour) }),
      );
    }),
  );
}

// A destructive counter action needs two taps (`confirmTwice`); the wedge field gets the
// focus back afterwards.
function twoTap(button, question, action) {
  confirmTwice(button, question, async () => {
    await action().catch((e) => showResult({ ok: false, code: e.code, params: e.params, message: e.message }));
    refresh();
    $("wedge").focus();
  });
}

// With one location its name is the same on every area: only the area is named.
export const areaLabel = (a) => (oneLocation ? a.name : `${a.location} / ${a.name}`);

export function renderCounter(o) {
  soundOn = o.sound;
  oneLocation = new Set(o.areas.map((a) => a.location)).size <= 1;
  $("present").textContent = String(o.present);
  $("current-area").textContent = o.current_area_name ?? "–";
  $("areas").setAttribute("aria-label", t("areas"));
  // Rebuilt only when something changed: a button armed for its second tap stays armed.
  const shownAreas = JSON.stringify([language(), o.current_area, o.areas.map((a) => [a.id, a.name, a.location, a.present])]);
  if ($("areas").dataset.shown !== shownAreas) {
    $("areas").dataset.shown = shownAreas;
    renderAreas(o);
  }
  renderRest(o);
}

function renderAreas(o) {
  $("areas").replaceChildren(
    ...o.areas.map((a) => {
      const pick = el(
        "button",
        { type: "button", className: "pick", ariaLabel: t("areaCount", { area: areaLabel(a), n: a.present }) },
        el("span", { className: "name", textContent: areaLabel(a) }),
        el("span", { className: "count", textContent: String(a.present) }),
      );
      if (a.id === o.current_area) {
        pick.classList.add("current");
        pick.setAttribute("aria-current", "true");
      }
      pick.addEventListener("click", async () => {
        await call("select_area", { area: a.id });
        refresh();
        $("wedge").focus();
      });
      const items = [pick];
      if (a.present) {
        const close = el("button", { type: "button", className: "small danger", textContent: t("closeArea"), ariaLabel: t("closeAreaNamed", { area: areaLabel(a) }) });
        twoTap(close, () => t("closeAllConfirm"), () => call("close_all", { area: a.id }));
        items.push(close);
      }
      return el("li", {}, ...items);
    }),
  );
}

function renderRest(o) {
  // The table choice keeps its place: it only fills when a guest waits for a table.
  const waiting = o.areas.find((a) => a.id === o.waiting_for_table && a.tables.length);
  const tap = $("table-tap");
  tap.classList.toggle("waiting", Boolean(waiting));
  if (waiting) {
    $("table-tap-label").replaceChildren(
      el("span", { className: "long", textContent: t("tapTable", { area: waiting.name }) }),
      el("span", { className: "short", textContent: t("tapTableShort") }),
    );
  } else $("table-tap-label").textContent = t("tapTableIdle");
  const shown = waiting ? `${waiting.id}:${waiting.tables.join(",")}` : "";
  if (tap.dataset.shown !== shown) {
    tap.dataset.shown = shown;
    $("table-buttons").replaceChildren(
      ...(waiting?.tables ?? []).map((n) => {
        const b = el("button", { type: "button", className: "chip", textContent: String(n), ariaLabel: t("tableN", { table: n }) });
        b.dataset.table = n;
        b.addEventListener("click", async () => {
          showResult(await call("tap_table", { table: n }));
          refresh();
          $("wedge").focus();
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
          const words = s.state === "connected" ? t("connected") : t(`device.${s.code}`) ?? t(s.state === "waiting" ? "waiting" : "deviceError");
          return el("li", { className: `device ${s.state}`, textContent: `${name}: ${words}` });
        })
      : [el("li", { textContent: t("noScanners") })]),
  );
  $("recent").replaceChildren(
    ...o.recent.map((r) =>
      el(
        "li",
        { className: r.ok ? "ok" : "refused" },
        el("span", { className: "mark", ariaHidden: "true", textContent: kindOf(r).icon }),
        el("time", { textContent: time(r.at) }),
        el("span", { textContent: resultText(r) }),
      ),
    ),
  );
  $("demo-scanner").hidden = !o.demo;
  if (!$("side-checkout").hidden) loadOpenGuests();
}

async function loadOpenGuests() {
  const list = await call("open_checkins", { area: null }).catch(() => []);
  $("open-guests").replaceChildren(
    ...(list.length
      ? list.map((g) => {
          const what = t(g.table ? "openGuestTable" : "openGuest", { time: time(g.checked_in_at), area: g.area, table: g.table ?? "" });
          const b = el("button", { type: "button", className: "small", textContent: t("checkOut"), ariaLabel: `${t("checkOut")}: ${what}` });
          b.addEventListener("click", async () => {
            showResult(await call("check_out", { record: g.record }));
            refresh();
          });
          return el("li", {}, el("span", { textContent: what }), b);
        })
      : [el("li", { textContent: t("noOpenGuests") })]),
  );
}

function showSide(name) {
  for (const b of document.querySelectorAll("[data-side]")) b.setAttribute("aria-selected", String(b.dataset.side === name));
  for (const p of document.querySelectorAll(".side-panel")) p.hidden = p.id !== `side-${name}`;
  if (name === "checkout") loadOpenGuests();
}

// The focusable controls of the window in document order, for a Tab the wedge field
// passes on itself.
function moveFocus(from, back) {
  const all = [...document.querySelectorAll("button, input, select, textarea, summary, a[href], [tabindex='0']")].filter(
    (x) => !x.disabled && x.offsetParent !== null && x.tabIndex >= 0,
  );
  const i = all.indexOf(from);
  const next = all[(i + (back ? all.length - 1 : 1)) % all.length];
  next?.focus();
}

export function setupCounter(refreshAll) {
  refresh = refreshAll;
  showIdle();
  showSide("recent");
  for (const b of document.querySelectorAll("[data-side]")) b.addEventListener("click", () => showSide(b.dataset.side));
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
  // A scanner typing while a field of the registration form has the focus: a burst that
  // reads like a Tresen code and ends with Enter or Tab goes to the counter, and the field
  // keeps what it had. Whether it was a scanner the core decides from the gaps.
  const bursts = new WeakMap();
  document.addEventListener(
    "keydown",
    (e) => {
      const f = e.target;
      if (f === wedge || !(f instanceof HTMLInputElement) || !f.closest("#counter")) return;
      const now = performance.now();
      let b = bursts.get(f);
      if (!b || now - b.last > BURST_GAP_MS) {
        b = { before: f.value, text: "", stamps: [] };
        bursts.set(f, b);
      }
      b.last = now;
      if (e.key.length === 1) {
        b.text += e.key;
        b.stamps.push(now);
      } else if ((e.key === "Enter" || e.key === "Tab") && b.text.length >= 8 && /^TR[GV][0-9]/i.test(b.text)) {
        e.preventDefault();
        e.stopPropagation();
        bursts.delete(f);
        const typed = f.value;
        f.value = b.before;
        const gaps = b.stamps.slice(1).map((s, i) => Math.round(s - b.stamps[i]));
        call("wedge_scan", { text: b.text, gaps }).then((r) => {
          if (r.code === "typed-not-scanned") f.value = typed;
          else showResult(r);
          refresh();
        });
      }
    },
    true,
  );
  const busy = () =>
    document.activeElement?.closest?.("form, details, select, .modal, .side-panel") ||
    $("counter").hidden ||
    performance.now() - tabbedAt < 10000;
  document.addEventListener("click", (e) => {
    if (!$("counter").hidden && !e.target.closest("button, form, details, a, select, .side-panel")) wedge.focus();
  });
  setInterval(() => {
    if (document.activeElement !== wedge && !busy()) wedge.focus();
  }, 1000);

  // A receipt printer set by the operator: the slip is offered, checked, instead of the card.
  call("counter_printing")
    .then((p) => ($("reg-slip-row").hidden = !p.receipt_printer))
    .catch(() => {});
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
    if (!r.result.ok) $("reg-fob-result").textContent = resultText(r.result);
    if (r.result.ok && !$("reg-slip-row").hidden && $("reg-slip").checked) {
      try {
        await call("print_slip");
        $("reg-fob-result").append(t("slipPrinted"));
      } catch (err) {
        $("reg-fob-result").textContent = errorText(err);
      }
    } else if (r.result.ok && $("reg-fob").checked) {
      try {
        const p = await call("print_document", { document: { kind: "registered-fob" }, out: null });
        if (p.sent && !p.path) {
          $("reg-fob-result").append(t("fobPrinted", { printer: p.sent.printer }));
          throw null;
        }
        const open = el("button", { type: "button", className: "small", textContent: t("openPdf") });
        open.addEventListener("click", () =>
          call("open_document", { path: p.path }).catch((err) => ($("reg-fob-result").textContent = errorText(err))),
        );
        $("reg-fob-result").append(p.sent ? t("fobSent", { path: p.path, printer: p.sent.printer }) : t("fobSaved", { path: p.path }), " ", open);
      } catch (err) {
        if (err !== null) $("reg-fob-result").textContent = errorText(err);
      }
    }
    if (r.result.ok) $("register").reset();
    refresh();
  });
  twoTap($("close-all"), () => t("closeAllConfirm"), () => call("close_all", { area: null, pin: null }));
  for (const b of document.querySelectorAll("[data-demo]")) {
    b.addEventListener("click", async () => {
      try {
        showResult(await call("demo_scan", { kind: b.dataset.demo }));
      } catch (err) {
        showResult({ ok: false, code: err.code, params: err.params, message: err.message });
      }
      refresh();
    });
  }
}

export function counterLanguageChanged() {
  if ($("result").classList.contains("idle")) showIdle();
}
