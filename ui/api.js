// The bridge to the shell: commands, events and the wording of errors.
import { t } from "./i18n.js";

const invoke = (cmd, args) => window.__TAURI__.core.invoke(cmd, args);
export const listen = (name, f) => window.__TAURI__.event.listen(name, f);
export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

// An error from a command, in the window's language alone: the words for its code,
// filled with its values (names, paths, counts, times). The core's English sentence is
// shown only where the window has no words at all (the translations test keeps that from
// happening).
export function errorText(e) {
  if (!e || typeof e !== "object") return String(e);
  const params = e.params ?? {};
  if (e.code === "invalid-contact" && params.problem) {
    return t(`contact.${params.problem}`, { ...params, field: params.field ? t(`field.${params.field}`) : "" });
  }
  // A printer's reason for stopping is a code of its own ("out-of-paper").
  let words = params;
  if (params.reason) {
    const word = t(`err.${params.reason}`) ?? params.reason;
    words = { ...params, reason: params.detail ? `${word} („${params.detail}“)` : word };
  }
  return t(`err.${e.code}`, words) ?? t(e.code, words) ?? e.message;
}

// The operator PIN, asked again for a destructive or security-relevant change. Resolves
// to the PIN typed, or null if cancelled. The dialog is the one that unlocks the operator
// screens (main.js answers it through `answerPin`).
let pinWanted = null;
export function askPin() {
  return new Promise((resolve) => {
    pinWanted = resolve;
    $("pin-title").textContent = t("pinConfirmTitle");
    $("pin-submit").textContent = t("confirm");
    $("pin-error").textContent = "";
    $("pin-input").value = "";
    $("pin-dialog").hidden = false;
    $("pin-input").focus();
  });
}

// Gives a pending `askPin` its answer; false if none is pending (the dialog unlocks).
export function answerPin(pin) {
  if (!pinWanted) return false;
  const resolve = pinWanted;
  pinWanted = null;
  $("pin-dialog").hidden = true;
  resolve(pin);
  return true;
}

// The one way the window calls the shell. When the shell wants the operator PIN again for
// a command, the PIN is asked and the command runs once more. Errors are thrown, unless
// `out` (an element) is given: then the error is shown there, the buttons of its form wait
// while the command runs (key files take a moment), and the result is `{ value }`, or null
// on failure. `busy` shows the busy cursor for a call without `out`.
export async function call(cmd, args = {}, { out = null, busy = false } = {}) {
  const buttons = out?.closest?.("form, section")?.querySelectorAll("button") ?? [];
  for (const b of buttons) b.disabled = true;
  if (out || busy) document.body.classList.add("working");
  if (out) out.textContent = "";
  try {
    const value = await invokeWithPin(cmd, args);
    return out ? { value } : value;
  } catch (e) {
    if (!out) throw e;
    out.textContent = errorText(e);
    return null;
  } finally {
    for (const b of buttons) b.disabled = false;
    if (out || busy) document.body.classList.remove("working");
  }
}

async function invokeWithPin(cmd, args) {
  try {
    return await invoke(cmd, args);
  } catch (e) {
    if (e?.code !== "pin-required") throw e;
    const pin = await askPin();
    if (pin === null) throw { code: "cancelled", message: "" };
    return invoke(cmd, { ...args, pin });
  }
}

// The one confirmation for what cannot be undone: the first tap arms the button for five
// seconds and shows `question` on it; a second tap does it. The second tap counts only
// after a pause, so a burst of keys (a scanner typing Enter twice) never confirms.
const CONFIRM_AFTER_MS = 600;
export function confirmTwice(button, question, action, onArm = () => {}) {
  let timer = null;
  let armedAt = 0;
  let label = "";
  const disarm = () => {
    clearTimeout(timer);
    timer = null;
    button.classList.remove("armed");
    button.textContent = label;
  };
  button.addEventListener("click", async () => {
    if (!timer) {
      label = button.textContent;
      button.textContent = typeof question === "function" ? question() : question;
      button.classList.add("armed");
      armedAt = performance.now();
      timer = setTimeout(disarm, 5000);
      onArm();
      return;
    }
    if (performance.now() - armedAt < CONFIRM_AFTER_MS) return;
    disarm();
    await action();
  });
}

// A file dialog run by the shell; fills `input` with the chosen path. The dialog's file
// filter is named in the window's language.
export async function choose(input, purpose) {
  const filter = t(`filter.${purpose}`) ?? null;
  const path = await call("choose_path", { purpose, suggested: input.value || null, filter }).catch(() => null);
  if (path) input.value = path;
}

export { date } from "./i18n.js";
