// The bridge to the shell: commands, events and the wording of errors.
import { t } from "./i18n.js";

export const invoke = (cmd, args) => window.__TAURI__.core.invoke(cmd, args);
export const listen = (name, f) => window.__TAURI__.event.listen(name, f);
export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

// An error from a command, in the window's language, with the core's detail after it.
export function errorText(e) {
  if (!e || typeof e !== "object") return String(e);
  const words = t(`err.${e.code}`) ?? t(e.code);
  if (!words) return e.message;
  return e.message && !words.includes(e.message) ? `${words} (${e.message})` : words;
}

// Runs a command for a form: shows the error in `out` (an element) and returns null. The
// buttons of the form around `out` wait while the command runs (key files take a moment).
export async function attempt(out, cmd, args) {
  const buttons = out?.closest?.("form, section")?.querySelectorAll("button") ?? [];
  for (const b of buttons) b.disabled = true;
  document.body.classList.add("working");
  if (out) out.textContent = "";
  try {
    return { value: await invoke(cmd, args) };
  } catch (e) {
    if (out) out.textContent = errorText(e);
    return null;
  } finally {
    for (const b of buttons) b.disabled = false;
    document.body.classList.remove("working");
  }
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

// Runs a command; when the shell wants the PIN again for it, asks and runs it once more.
export async function withPin(cmd, args) {
  try {
    return await invoke(cmd, args);
  } catch (e) {
    if (e?.code !== "pin-required") throw e;
    const pin = await askPin();
    if (pin === null) throw { code: "cancelled", message: "" };
    return invoke(cmd, { ...args, pin });
  }
}

// A file dialog run by the shell; fills `input` with the chosen path.
export async function choose(input, purpose) {
  const path = await invoke("choose_path", { purpose, suggested: input.value || null }).catch(() => null);
  if (path) input.value = path;
}

export function date(secs, lang) {
  return new Date(secs * 1000).toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
}
