// Passkeys (WebAuthn) for Ooievaar: the second login step and adding a passkey on /account.
// Without this script, or in a browser without WebAuthn, nothing here shows and the code
// forms do everything. The server makes and checks every challenge (webauthn-rs); this only
// carries them between the server functions and navigator.credentials, converting base64url
// text to bytes and back. Event delegation: it keeps working after client-side navigation.
(() => {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;
  document.documentElement.classList.add("has-webauthn");

  const toBytes = (text) => {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "===".slice((b64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  };
  const toText = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer)))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");

  // A server function call as the hydrated app makes it; the answer is JSON.
  async function call(endpoint, fields) {
    const response = await fetch("/api/" + endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams(fields),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(problemOf(text));
    return JSON.parse(text);
  }

  // The Dutch text of a server error (AppError as JSON).
  function problemOf(text) {
    try {
      const error = JSON.parse(text);
      if (error && error.Validation) return error.Validation.field_errors.map((f) => f.problem).join("; ");
      if (error === "Unauthenticated") return "U bent niet (meer) ingelogd. Log opnieuw in.";
    } catch (_) {}
    return "De passkey is niet gelukt. Probeer het opnieuw of gebruik de code uit uw app.";
  }

  // A credential as JSON text for the server: its binary parts as base64url.
  function asJson(credential, response) {
    return JSON.stringify({
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults(),
      response,
    });
  }

  function show(container, message) {
    const slot = container && container.querySelector("[data-passkey-error]");
    if (slot) slot.textContent = message;
  }

  async function login(button) {
    const box = button.closest(".passkey-only");
    show(box, "");
    try {
      const options = JSON.parse(await call("passkey_login_start", {}));
      const pk = options.publicKey;
      pk.challenge = toBytes(pk.challenge);
      (pk.allowCredentials || []).forEach((c) => (c.id = toBytes(c.id)));
      const credential = await navigator.credentials.get({ publicKey: pk });
      const r = credential.response;
      const answer = asJson(credential, {
        authenticatorData: toText(r.authenticatorData),
        clientDataJSON: toText(r.clientDataJSON),
        signature: toText(r.signature),
        userHandle: r.userHandle ? toText(r.userHandle) : null,
      });
      const next = await call("passkey_login_finish", { credential: answer });
      window.location.assign(next);
    } catch (error) {
      show(box, error.message || String(error));
    }
  }

  async function register(form) {
    show(form, "");
    const name = form.elements["name"].value;
    const code = form.elements["code"].value;
    try {
      const options = JSON.parse(await call("passkey_register_start", { code }));
      const pk = options.publicKey;
      pk.challenge = toBytes(pk.challenge);
      pk.user.id = toBytes(pk.user.id);
      (pk.excludeCredentials || []).forEach((c) => (c.id = toBytes(c.id)));
      const credential = await navigator.credentials.create({ publicKey: pk });
      const r = credential.response;
      const answer = asJson(credential, {
        attestationObject: toText(r.attestationObject),
        clientDataJSON: toText(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : [],
      });
      await call("passkey_register_finish", { name, credential: answer });
      window.location.assign("/account?passkey=toegevoegd");
    } catch (error) {
      show(form, error.message || String(error));
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-passkey-login]");
    if (button) {
      event.preventDefault();
      login(button);
    }
  });
  document.addEventListener("submit", (event) => {
    const form = event.target.closest && event.target.closest("form[data-passkey-register]");
    if (form) {
      event.preventDefault();
      register(form);
    }
  });
})();
