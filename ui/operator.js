// The operator screens behind the PIN: areas and tables, printing, the key, requests,
// settings.
import { t, date, auditText } from "./i18n.js";
import { $, el, call, confirmTwice, listen, choose, errorText } from "./api.js";

let refresh = () => {};
const say = (text, bad = false) => {
  $("op-message").textContent = text;
  $("op-message").className = `op-message ${bad ? "bad" : "good"}`;
};
const fail = (e) => say(errorText(e), true);

// An operator command: its error is said in the operator screens' message line, and, for
// a form, next to the form's button as well (`out`).
async function run(cmd, args, out = null) {
  if (out) out.textContent = "";
  try {
    return await call(cmd, args, { busy: true });
  } catch (e) {
    fail(e);
    if (out) out.textContent = errorText(e);
    if (e.code === "operator-locked") refresh();
    throw e;
  }
}

// The error line of a form, made when first needed, right after its submit button.
function formError(form) {
  let p = form.querySelector(":scope > .form-error");
  if (!p) {
    p = el("p", { className: "form-error", role: "alert" });
    form.append(p);
  }
  return p;
}

// ----- areas and tables -----

function inlineForm(placeholder, label, onSubmit) {
  const input = el("input", { placeholder, ariaLabel: placeholder, autocomplete: "off", required: true });
  const form = el("form", { className: "row form-inline" }, input, el("button", { type: "submit", textContent: label }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await onSubmit(input.value).catch(() => {});
  });
  return form;
}

async function change(change, message = t("saved")) {
  await run("change_areas", { change, pin: null });
  say(message);
  await loadAreas();
}

function reprintOffer(document, label) {
  const b = el("button", { type: "button", className: "small", textContent: label });
  b.addEventListener("click", async () => {
    const p = await run("print_document", { document, out: null });
    showPrinted($("op-message"), p);
  });
  say(`${t("codeReplaced")} `);
  $("op-message").append(b);
}

async function loadAreas() {
  const v = await run("venue_admin");
  const stateName = { open: t("stateOpen"), closed: t("stateClosed"), archived: t("stateArchived") };
  $("admin-areas").replaceChildren(
    ...v.locations.map((loc) => {
      const areas = v.areas.filter((a) => a.location_id === loc.id);
      return el(
        "div",
        { className: "card" },
        el("h3", { textContent: loc.name }),
        inlineForm(t("locationName"), t("rename"), (name) => change({ op: "rename-location", id: loc.id, name })),
        ...areas.map((a) => {
          const buttons = [];
          const button = (label, f, cls = "small", question = null) => {
            const b = el("button", { type: "button", className: cls, textContent: label });
            const act = () => f().catch(() => {});
            if (question) confirmTwice(b, question, act);
            else b.addEventListener("click", act);
            buttons.push(b);
          };
          if (a.state === "open") button(t("closeAreaAdmin"), () => change({ op: "close", id: a.id }));
          if (a.state === "closed") button(t("reopen"), () => change({ op: "reopen", id: a.id }));
          if (a.state !== "archived") {
            button(t("replaceCode"), async () => {
              await change({ op: "replace-area-code", id: a.id });
              reprintOffer({ kind: "posters", areas: [a.id], a3: false }, t("reprintNow"));
            }, "small", t("confirmReplace"));
            button(t("archive"), () => change({ op: "archive", id: a.id }), "small danger", t("archiveConfirm"));
          }
          const tableChips = a.tables.map((n) => {
            const chip = el("button", { type: "button", className: "chip small", textContent: String(n), title: t("replaceTable", { table: n }) });
            confirmTwice(
              chip,
              `${n}?`,
              async () => {
                try {
                  await change({ op: "replace-table-code", id: a.id, table: n });
                } catch {
                  return; // said by run()
                }
                reprintOffer({ kind: "tables", area: a.id, tables: String(n), labels: false }, t("reprintTableNow"));
              },
              () => say(t("confirmReplace")),
            );
            return chip;
          });
          return el(
            "div",
            { className: `admin-area ${a.state}` },
            el("h4", { textContent: t("areaSummary", { name: a.name, state: stateName[a.state], n: a.present }) }),
            el("div", { className: "row" }, ...buttons),
            a.state === "archived"
              ? null
              : el(
                  "div",
                  {},
                  inlineForm(t("areaName"), t("rename"), (name) => change({ op: "rename-area", id: a.id, name })),
                  inlineForm(`${t("maxStay")}: ${Math.round(a.max_stay_secs / 60)}`, t("save"), (m) =>
                    change({ op: "set-max-stay", id: a.id, minutes: Number(m) }),
                  ),
                  el("p", { className: "hint" }, `${t("tables")}: `, ...(tableChips.length ? tableChips : [t("noTables")])),
                  inlineForm(t("tablesOptional"), t("addTables"), (tables) => change({ op: "add-tables", id: a.id, tables })),
                  inlineForm(t("tableNumber"), t("removeTable"), (n) => change({ op: "remove-table", id: a.id, table: Number(n) })),
                ),
          );
        }),
        inlineForm(t("areaName"), t("addArea"), (name) => change({ op: "add-area", location: loc.id, name })),
      );
    }),
  );
  const live = v.areas.filter((a) => a.state !== "archived");
  const oneLocation = new Set(live.map((a) => a.location)).size <= 1;
  const areaSelect = $("print-area");
  areaSelect.replaceChildren(
    el("option", { value: "", textContent: t("allAreas") }),
    ...live.map((a) => el("option", { value: String(a.id), textContent: oneLocation ? a.name : `${a.location} / ${a.name}` })),
  );
}

// ----- printing -----

function showPrinted(box, p) {
  const open = el("button", { type: "button", className: "small", textContent: t("openPdf") });
  const why = el("p", { className: "bad", role: "alert" });
  open.addEventListener("click", () => call("open_document", { path: p.path }).catch((e) => (why.textContent = errorText(e))));
  const saved = p.pages == null ? t("pdfKept", { path: p.path }) : t("printed", { n: p.pages, path: p.path });
  box.replaceChildren(el("span", { className: "printed-path", textContent: saved }), " ", open, why);
  box.hidden = false;
}

// The printers, with the one last used for this kind of document chosen.
let printers = [];
async function loadPrinters() {
  try {
    printers = await call("list_printers");
    $("print-printer-state").textContent = printers.length ? "" : t("noPrinters");
  } catch (e) {
    printers = [];
    $("print-printer-state").textContent = errorText(e);
  }
  fillPrinters();
}

function fillPrinters() {
  const kind = $("print-kind").value;
  const chosen = prefs?.document_printers?.[kind] ?? "";
  const stateWord = (p) => (p.state === "stopped" ? ` – ${t("printerStopped", { reason: t(`err.${p.reason ?? "paused"}`) ?? p.reason })}` : "");
  $("print-printer").replaceChildren(
    el("option", { value: "", textContent: t("pdfOnly") }),
    ...printers.map((p) => el("option", { value: p.name, textContent: `${p.info || p.name}${stateWord(p)}`, selected: p.name === chosen })),
  );
  $("print-go").textContent = $("print-printer").value ? t("printNow") : t("savePdf");
}

// Follows a job until it is printed or stops, in the words of the window.
function followJob(box, sent) {
  const line = el("p", { className: "job-state", role: "status" });
  box.append(line);
  const tick = async () => {
    let s;
    try {
      s = await call("print_job_state", { printer: sent.printer, job: sent.job });
    } catch (e) {
      line.textContent = errorText(e);
      return;
    }
    const reason = s.reason ? (t(`err.${s.reason}`) ?? s.reason) : "";
    line.className = `job-state ${s.state}`;
    line.textContent = t(`job-${s.state}`, { printer: sent.printer, job: sent.job, reason: reason || s.message || "…" });
    if (!["done", "cancelled", "failed"].includes(s.state)) setTimeout(tick, 1000);
  };
  tick();
}

function printKindChanged() {
  const kind = $("print-kind").value;
  fillPrinters();
  for (const d of document.querySelectorAll("#print-form [data-for]")) d.hidden = !d.dataset.for.split(" ").includes(kind);
  if (!$("print-key").value) $("print-key").value = keyFile;
  call("suggest_pdf_path", { kind }).then((p) => ($("print-out").value = p));
}

async function printNow(e) {
  e.preventDefault();
  const kind = $("print-kind").value;
  const area = $("print-area").value ? Number($("print-area").value) : null;
  const v = (id) => $(id).value;
  let document;
  if (kind === "posters") document = { kind, areas: area ? [area] : [], a3: $("print-a3").checked };
  else if (kind === "tables") document = { kind, area, tables: v("print-tables"), labels: $("print-labels").checked };
  else if (kind === "fob")
    document = { kind, contact: { name: v("fob-name"), street: v("fob-street"), postcode: v("fob-postcode"), city: v("fob-city"), phone: v("fob-phone"), email: v("fob-email") } };
  else document = { kind, key_file: v("print-key"), passphrase: v("print-pass") };
  $("print-result").hidden = true;
  try {
    const printer = $("print-printer").value || null;
    const copies = Number($("print-copies").value) || 1;
    let p;
    try {
      p = await run("print_document", { document, out: v("print-out"), printer, copies }, formError($("print-form")));
    } catch (err) {
      // The printer failed: the PDF is saved all the same, and can be opened.
      if (err?.params?.pdf) showPrinted($("print-result"), { path: err.params.pdf, pages: null });
      throw err;
    }
    $("print-pass").value = "";
    if (printer) prefs = { ...prefs, document_printers: { ...(prefs.document_printers ?? {}), [kind]: printer } };
    showPrinted($("print-result"), p);
    if (p.sent) followJob($("print-result"), p.sent);
    say(t("saved"));
    call("suggest_pdf_path", { kind }).then((next) => ($("print-out").value = next));
  } catch {
    // shown by run()
  }
}

// ----- key -----

// The key file's place as the venue knows it, to fill in where the key is asked for.
let keyFile = "";

async function loadKey() {
  const k = await run("key_status");
  const s = k.status;
  keyFile = k.key_file ?? "";
  if (!$("print-key").value) $("print-key").value = keyFile;
  const lines = [el("p", {}, `${t("keyFingerprint")} `, el("span", { className: "fp", textContent: s.fingerprint }))];
  if (k.key_file) lines.push(el("p", {}, `${t("keyFileIs")} `, el("code", { textContent: k.key_file })));
  if (s.state.kind === "ok") lines.push(el("p", { className: "good", textContent: t("keyStatusOk", { verified_at: s.verified_at, due_at: s.due_at }) }));
  else {
    lines.push(el("p", { className: "bad", textContent: t(`backup-${s.state.kind}`, { since_at: s.verified_at }) }));
    if (k.postponed_at) lines.push(el("p", { className: "hint", textContent: t("keyPostponed", { postponed_at: k.postponed_at }) }));
  }
  $("key-status").replaceChildren(...lines);
}

// ----- requests -----

function showReview(r) {
  const rows = [
    ["reqOffice", `${r.office_name} (${r.office_id})`],
    ["reqCase", r.case_reference],
    ["reqReason", r.reason],
    ["reqAreas", r.all_areas ? t("allAreas") : r.areas.map(([, n]) => n).join(", ")],
    ["reqWindow", `${date(r.from)} – ${date(r.until)}`],
    ["reqMatching", t("checkinsN", { n: r.matching })],
    ["reqExpires", date(r.expires_at)],
  ];
  if (r.sealed_to_earlier_keys) rows.splice(6, 0, ["reqEarlier", t("reqEarlierN", { n: r.sealed_to_earlier_keys })]);
  $("request-details").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { textContent: t(k) }), el("dd", { id: `req-${k}`, textContent: v })]));
  $("request-review").hidden = false;
  $("request-approve").hidden = false;
  $("request-decline").hidden = false;
  $("approve-done").hidden = true;
  $("approve-progress").hidden = true;
  $("approve-status").textContent = "";
  if (!$("approve-key").value) {
    call("key_status")
      .then((k) => {
        if (!$("approve-key").value) $("approve-key").value = k.key_file ?? "";
      })
      .catch(() => {});
  }
  call("suggest_answer_path").then((p) => ($("approve-out").value = p));
}

async function openRequest(path) {
  $("request-review").hidden = true;
  try {
    showReview(await run("review_request_file", { path }));
    say("");
  } catch {
    // shown by run()
  }
  loadAudit();
}

async function loadAudit() {
  const a = await run("audit_log").catch(() => null);
  if (!a) return;
  $("audit-state").textContent = a.broken ? t("auditBroken") : t("auditOk", { n: a.entries.length });
  $("audit-state").className = a.broken ? "bad" : "hint";
  $("audit")
    .querySelector("tbody")
    .replaceChildren(
      ...a.entries.map((e) => {
        const [event, detail] = auditText(e);
        return el(
          "tr",
          {},
          el("td", { textContent: date(e.at) }),
          el("td", { textContent: event }),
          el("td", { textContent: a.offices?.[e.office] ?? e.office }),
          el("td", { textContent: detail }),
        );
      }),
    );
}

// ----- settings -----

let prefs = null;

function scannerRow(s) {
  const row = el("div", { className: "row scanner-row" });
  row.dataset.kind = s.kind;
  const input = (cls, value, placeholder) => el("input", { className: cls, value: value ?? "", placeholder, ariaLabel: placeholder, autocomplete: "off" });
  if (s.kind === "serial") {
    const end = el("select", { className: "s-end", title: t("lineEnd"), ariaLabel: t("lineEnd") }, ...["cr", "lf", "crlf", "pause"].map((v) => el("option", { value: v, textContent: t(`lineEnd.${v}`) })));
    end.value = s.terminator ?? "cr";
    row.append(input("s-path", s.path, t("serialPath")), input("s-baud", s.baud ?? 9600, t("baud")), end);
  } else {
    const layout = el("select", { className: "s-layout", title: t("layout"), ariaLabel: t("layout") }, el("option", { value: "de", textContent: "DE (QWERTZ)" }), el("option", { value: "us", textContent: "US (QWERTY)" }));
    layout.value = s.layout ?? "de";
    const hex = (n) => (n === null || n === undefined ? "" : n.toString(16).padStart(4, "0"));
    row.append(input("s-vid", hex(s.vendor_id), t("vendorId")), input("s-pid", hex(s.product_id), t("productId")), layout);
  }
  const remove = el("button", { type: "button", className: "small", textContent: t("remove") });
  remove.addEventListener("click", () => row.remove());
  row.append(remove);
  $("scanner-rows").append(row);
}

function readScanners() {
  return [...document.querySelectorAll(".scanner-row")].map((r) => {
    const q = (c) => r.querySelector(c).value.trim();
    if (r.dataset.kind === "serial") return { kind: "serial", path: q(".s-path"), baud: Number(q(".s-baud")), terminator: q(".s-end") };
    return { kind: "usb", vendor_id: parseInt(q(".s-vid"), 16) || 0, product_id: q(".s-pid") ? parseInt(q(".s-pid"), 16) : null, layout: q(".s-layout") };
  });
}

let venueSettings = {};

async function loadSettings() {
  const s = await run("get_settings");
  prefs = s.app;
  $("about-line").textContent = t("aboutLine", { version: s.about.version, protocol: s.about.protocol, schema: s.about.schema, server: s.about.server_schema });
  const keyOf = (name) => name.replaceAll("-", "_");
  venueSettings = Object.fromEntries(s.ranges.map(([name]) => [name, s.venue[keyOf(name)]]));
  const form = $("venue-settings");
  form.replaceChildren(
    el("h3", { textContent: t("venueSettings") }),
    ...s.ranges.map(([name, min, max]) => {
      const input = el("input", { type: "number", min, max, value: s.venue[keyOf(name)], id: `set-${name}` });
      input.dataset.setting = name;
      return el("label", {}, el("span", { textContent: `${t(name)} (${t("range", { min, max })})` }), input);
    }),
  );
  $("set-language").value = prefs.language;
  $("set-sound").checked = prefs.sound;
  $("set-kiosk").checked = prefs.kiosk_mode;
  $("set-autostart").checked = prefs.start_at_login;
  $("scanner-rows").replaceChildren();
  prefs.scanners.forEach(scannerRow);
  $("set-receipt").value = prefs.receipt_printer?.device ?? "";
  $("set-receipt-width").value = prefs.receipt_printer?.width ?? "58";
  $("set-receipt-qr").value = prefs.receipt_printer?.qr ?? "native";
}

function readReceiptPrinter() {
  const device = $("set-receipt").value.trim();
  return device ? { device, width: $("set-receipt-width").value, qr: $("set-receipt-qr").value } : null;
}

// After a verified copy on a stick: the key file on this PC's disk can go (PIN again).
function offerPcCopyDeletion(path) {
  const b = el("button", { type: "button", className: "small danger", textContent: t("pcCopyDelete") });
  b.addEventListener("click", async () => {
    const r = await run("delete_pc_key_copy", { pin: null }).catch(() => null);
    if (r) say(t("pcCopyDeleted", { path: r }));
    loadKey();
  });
  $("op-message").append(" ", t("pcCopyOffer"), " ", el("code", { textContent: path }), " ", b);
}

// ----- tabs -----

// ----- counters of a venue on a server -----

async function loadCounters() {
  const rows = await run("counters");
  $("counters-list").replaceChildren(
    ...rows.map((c) => {
      const revoke = el("button", { type: "button", className: "small danger", textContent: t("counterRevoke") });
      confirmTwice(revoke, t("counterRevokeSure"), async () => {
        await run("revoke_counter", { login: c.login, pin: null }).catch(() => {});
        say(t("counterRevoked", { name: c.name }));
        loadCounters();
      });
      return el(
        "tr",
        {},
        el("td", { textContent: c.name }),
        el("td", {}, el("code", { textContent: c.login })),
        el("td", { textContent: date(c.created_at) }),
        el("td", {}, c.revoked_at ? t("counterRevokedAt", { revoked_at: c.revoked_at }) : revoke),
      );
    }),
  );
}

async function addCounter(e) {
  e.preventDefault();
  $("counter-add-done").hidden = true;
  try {
    const made = await run("add_counter", { name: $("counter-add-name").value, out: $("counter-add-out").value }, formError($("counter-add")));
    $("counter-add-path").textContent = made.path;
    $("counter-add-pass").textContent = made.passphrase;
    $("counter-add-done").hidden = false;
    $("counter-add-done").scrollIntoView({ block: "center" });
    $("counter-add-name").value = "";
    $("counter-add-out").value = "";
    loadCounters();
  } catch {
    // shown by run()
  }
}

const loaders = { areas: loadAreas, print: async () => { await loadAreas(); if (!prefs) prefs = (await run("get_settings")).app; printKindChanged(); await loadPrinters(); }, key: loadKey, requests: loadAudit, settings: loadSettings, counters: loadCounters };

export async function showTab(name) {
  for (const b of document.querySelectorAll("[data-tab]")) b.classList.toggle("current", b.dataset.tab === name);
  for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.id !== `tab-${name}`;
  say("");
  await loaders[name]().catch(() => {});
}

export function renderOperator(o) {
  $("op-exit").hidden = !o.kiosk_mode;
  $("tab-counters-button").hidden = o.sync?.role !== "operator";
  $("demo-request").hidden = !o.demo;
}

export function setupOperator(refreshAll) {
  refresh = refreshAll;
  for (const b of document.querySelectorAll("[data-tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("op-lock").addEventListener("click", async () => {
    await call("lock_operator");
    refresh();
  });
  $("op-exit").addEventListener("click", () => call("exit_app").catch(fail));
  $("add-location").addEventListener("submit", async (e) => {
    e.preventDefault();
    await change({ op: "add-location", name: $("new-location").value }).catch(() => {});
    $("new-location").value = "";
  });
  $("print-kind").addEventListener("change", printKindChanged);
  $("print-printer").addEventListener("change", () => ($("print-go").textContent = $("print-printer").value ? t("printNow") : t("savePdf")));
  $("counter-add").addEventListener("submit", addCounter);
  $("counter-add-choose").addEventListener("click", () => choose($("counter-add-out"), "save-join"));
  $("print-form").addEventListener("submit", printNow);
  $("print-out-choose").addEventListener("click", () => choose($("print-out"), "save-pdf"));
  $("print-key-choose").addEventListener("click", () => choose($("print-key"), "key"));

  const keyForm = (form, cmd, args, after) =>
    $(form).addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const r = await run(cmd, args(), formError($(form)));
        for (const p of $(form).querySelectorAll("input[type=password]")) p.value = "";
        say(after(r));
        loadKey();
        refresh();
      } catch {
        // shown by run()
      }
    });
  const copied = (r) => {
    if (!r.counted) return t("backupSameMedium");
    if (r.pc_copy) setTimeout(() => offerPcCopyDeletion(r.pc_copy), 0);
    return t("backupCounted");
  };
  keyForm("key-verify", "backup_verify", () => ({ path: $("key-verify-path").value, passphrase: $("key-verify-pass").value }), copied);
  keyForm("key-copy", "backup_copy", () => ({ from: "", to: $("key-copy-to").value, passphrase: $("key-copy-pass").value }), copied);
  keyForm(
    "key-replace",
    "key_replace",
    () => ({ keyFile: $("key-new-path").value, passphrase: $("key-new-pass").value, repeat: $("key-new-pass2").value, pin: null }),
    (r) =>
      r.unanswerable_checkins
        ? t("keyReplaced", { fp: r.new_fingerprint, n: r.unanswerable_checkins, from_at: r.unanswerable_from, until_at: r.unanswerable_until })
        : t("keyReplacedNone", { fp: r.new_fingerprint }),
  );
  keyForm(
    "key-restore",
    "key_restore",
    () => ({ images: $("restore-images").value.split("\n"), out: $("restore-out").value, passphrase: $("restore-pass").value }),
    (r) => t(r.earlier_key ? "restoredEarlierKey" : r.verified ? "restoredVerified" : "restored", { path: r.path }),
  );
  $("restore-images-choose").addEventListener("click", () => choose($("restore-images"), "images"));
  $("restore-out-choose").addEventListener("click", () => choose($("restore-out"), "save-key"));
  $("key-verify-choose").addEventListener("click", () => choose($("key-verify-path"), "key"));
  $("key-copy-choose").addEventListener("click", () => choose($("key-copy-to"), "save-key"));
  $("key-new-choose").addEventListener("click", () => choose($("key-new-path"), "save-key"));

  $("request-open").addEventListener("submit", (e) => {
    e.preventDefault();
    openRequest($("request-path").value);
  });
  $("request-choose").addEventListener("click", async () => {
    await choose($("request-path"), "request");
    if ($("request-path").value) openRequest($("request-path").value);
  });
  $("demo-request").addEventListener("click", async () => {
    try {
      const [path, review] = await run("demo_request");
      $("request-path").value = path;
      showReview(review);
      loadAudit();
    } catch {
      // shown by run()
    }
  });
  // Request files dropped anywhere on the window while the requests tab is open.
  listen("tauri://drag-drop", (e) => {
    const path = e.payload?.paths?.[0];
    if (path && !$("tab-requests").hidden && !$("operator").hidden) {
      $("request-path").value = path;
      openRequest(path);
    }
  });
  $("approve-key-choose").addEventListener("click", () => choose($("approve-key"), "key"));
  $("approve-out-choose").addEventListener("click", () => choose($("approve-out"), "save-answer"));
  listen("approval-progress", (e) => {
    const { done, total } = e.payload;
    const bar = $("approve-progress");
    bar.hidden = false;
    bar.max = Math.max(1, total);
    bar.value = done;
    $("approve-status").textContent = t("approving", { done, total });
  });
  $("request-approve").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("approve-go").disabled = true;
    $("approve-progress").hidden = false;
    $("approve-progress").removeAttribute("value");
    try {
      const r = await run(
        "approve_request",
        { keyFile: $("approve-key").value, passphrase: $("approve-pass").value, out: $("approve-out").value },
        formError($("request-approve")),
      );
      // Done: the forms go, the answer file and what to do with it stay.
      $("request-approve").hidden = true;
      $("request-decline").hidden = true;
      $("approve-done-text").textContent = t("approved", { n: r.report.records });
      $("approve-done-path").textContent = r.path;
      $("approve-done").hidden = false;
      say(t("approved", { n: r.report.records }));
    } catch {
      $("approve-progress").hidden = true;
    }
    $("approve-pass").value = "";
    $("approve-go").disabled = false;
    loadAudit();
  });
  $("request-decline").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await run("decline_request", { reason: $("decline-reason").value }, formError($("request-decline")));
      $("request-review").hidden = true;
      $("decline-reason").value = "";
      say(t("declined"));
    } catch {
      // shown by run()
    }
    loadAudit();
  });

  $("add-serial").addEventListener("click", () => scannerRow({ kind: "serial", baud: 9600, terminator: "cr" }));
  $("add-usb").addEventListener("click", () => scannerRow({ kind: "usb", layout: "de" }));
  $("find-devices").addEventListener("click", async () => {
    const d = await run("list_devices").catch(() => null);
    if (!d) return;
    const items = [
      ...d.serial.map((p) => {
        const b = el("button", { type: "button", className: "small", textContent: t("use") });
        b.addEventListener("click", () => scannerRow({ kind: "serial", path: p.path, baud: 9600, terminator: "cr" }));
        return el("li", {}, `${p.path} ${p.manufacturer ?? ""} ${p.product ?? ""} `, b);
      }),
      ...d.usb.map((u) => {
        const b = el("button", { type: "button", className: "small", textContent: t("use") });
        b.addEventListener("click", () => scannerRow({ kind: "usb", vendor_id: u.vendor_id, product_id: u.product_id, layout: "de" }));
        return el("li", {}, `USB ${u.vendor ?? ""} ${u.vendor_id.toString(16)}:${u.product_id.toString(16)} `, b);
      }),
      ...d.problems.map(() => el("li", { className: "bad", textContent: t("devicesListFailed") })),
    ];
    $("found-devices").replaceChildren(...(items.length ? items : [el("li", { textContent: t("noDevices") })]));
  });
  // One save for every setting: the venue's (each change audited; a lower retention asks
  // for the PIN again) and this PC's.
  $("settings-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      for (const input of document.querySelectorAll("#venue-settings input[data-setting]")) {
        const name = input.dataset.setting;
        if (String(venueSettings[name]) !== input.value.trim()) {
          await run("set_setting", { key: name, value: input.value, pin: null }, formError($("settings-form")));
          venueSettings[name] = input.value.trim();
        }
      }
      const next = { ...prefs, language: $("set-language").value, sound: $("set-sound").checked, kiosk_mode: $("set-kiosk").checked, start_at_login: $("set-autostart").checked, scanners: readScanners(), receipt_printer: readReceiptPrinter() };
      await run("set_preferences", { prefs: next }, formError($("settings-form")));
      prefs = next;
      say(t("saved"));
      refresh();
    } catch {
      // shown by run()
    }
  });
  $("receipt-test").addEventListener("click", async () => {
    const box = $("receipt-test-result");
    box.textContent = "";
    try {
      // The setting as typed is saved first: the test prints with what will be used.
      const next = { ...prefs, receipt_printer: readReceiptPrinter() };
      await run("set_preferences", { prefs: next });
      prefs = next;
      await run("print_test_slip");
      box.textContent = t("receiptTestDone");
    } catch (e) {
      box.textContent = errorText(e);
    }
  });
  $("pin-change").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await run("set_pin", { old: $("pin-old").value, pin: $("pin-new1").value, repeat: $("pin-new2").value }, formError($("pin-change")));
      say(t("saved"));
    } catch {
      // shown by run()
    }
    $("pin-old").value = "";
    $("pin-new1").value = "";
    $("pin-new2").value = "";
  });
}
